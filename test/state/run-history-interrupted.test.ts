/**
 * A run is on record from its start: a run in progress shows as `running`, and a run whose
 * process was killed shows as `interrupted` with the reason — when the history is listed, and
 * when the same task runs again.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '@haven/plugin-api';
import { HAVEN_BIN, havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

function packCount(repo: string): number {
  const data = path.join(repo, 'data');
  if (!existsSync(data)) return 0;
  return readdirSync(data, { recursive: true }).filter((n) => !String(n).includes('.tmp-') && /[0-9a-f]{16}/.test(String(n))).length;
}

/** A task over a source large enough that a run is still busy after its first pack. */
async function bigTask(haven: HavenSandbox): Promise<string> {
  const source = path.join(haven.root, 'big');
  mkdirSync(source);
  for (let i = 0; i < 6; i++) writeFileSync(path.join(source, `part-${i}.bin`), randomBytes(32 * 1024 * 1024));
  const repo = path.join(haven.root, 'repo');
  await haven.json(['task', 'create', 'big', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
  return repo;
}

/** Starts `haven run big`, waits for its first pack (mid-backup), then stops it with SIGSTOP. */
async function startAndFreezeRun(haven: HavenSandbox, repo: string): Promise<{ child: ChildProcess; exited: Promise<number | NodeJS.Signals> }> {
  const child = spawn(process.execPath, [HAVEN_BIN, 'run', 'big', '--json'], { env: haven.env, stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('close', (code, signal) => resolve(signal ?? code ?? -1)));
  const deadline = Date.now() + 60_000;
  while (packCount(repo) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGSTOP');
  expect(packCount(repo), 'the run wrote no pack within 60 s').to.be.greaterThan(0);
  return { child, exited };
}

function recordsOnDisk(haven: HavenSandbox): RunRecord[] {
  const dir = path.join(haven.env.HAVEN_HOME!, 'history');
  return readdirSync(dir).sort().map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as RunRecord);
}

describe('interrupted runs in the history', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('shows a run in progress as running, a killed run as interrupted, and the next run beside it', async function () {
    this.timeout(120_000);
    const haven = havenSandbox();
    const repo = await bigTask(haven);
    const { child, exited } = await startAndFreezeRun(haven, repo);
    children.push(child);

    const during = await haven.json<RunRecord[]>(['history', 'big']);
    expect(during.map((r) => [r.status, r.pid])).to.deep.equal([['running', child.pid]]);

    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    const [interrupted, ...others] = await haven.json<RunRecord[]>(['history', 'big']);
    expect(others).to.deep.equal([]);
    expect(interrupted!.status).to.equal('interrupted');
    expect(interrupted!.reason).to.equal(`the process ${child.pid} stopped before the run finished (killed or crashed)`);
    expect(Date.parse(interrupted!.finishedAt)).to.be.at.least(Date.parse(interrupted!.startedAt));
    expect(recordsOnDisk(haven).map((r) => r.status)).to.deep.equal(['interrupted']); // rewritten, not only shown
    const text = await haven.run(['history', 'big']);
    expect(text.stdout).to.contain('interrupted').and.contain(`the process ${child.pid} stopped`);

    const again = await haven.run(['run', 'big', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    const after = await haven.json<RunRecord[]>(['history', 'big']);
    expect(after.map((r) => r.status)).to.deep.equal(['success', 'interrupted']);
    expect(after[0]).to.not.have.property('pid'); // a final record carries no process
  });

  it('records the killed run as interrupted when the same task runs again', async function () {
    this.timeout(120_000);
    const haven = havenSandbox();
    const repo = await bigTask(haven);
    const { child, exited } = await startAndFreezeRun(haven, repo);
    children.push(child);
    child.kill('SIGKILL');
    await exited;
    expect(recordsOnDisk(haven).map((r) => r.status)).to.deep.equal(['running']);

    const again = await haven.run(['run', 'big', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    const records = recordsOnDisk(haven);
    expect(records.map((r) => r.status)).to.deep.equal(['interrupted', 'success']);
    expect(records[0]!.reason).to.equal(`the process ${child.pid} stopped before the run finished (killed or crashed)`);
  });
});
