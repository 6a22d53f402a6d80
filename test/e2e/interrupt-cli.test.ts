/**
 * Ctrl-C during `haven run`: the run stops, is recorded as failed with the reason, the
 * repository checks clean, and the next run completes.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { HAVEN_BIN, havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

function packCount(repo: string): number {
  const data = path.join(repo, 'data');
  if (!existsSync(data)) return 0;
  return readdirSync(data, { recursive: true }).filter((n) => !String(n).includes('.tmp-') && /[0-9a-f]{16}/.test(String(n))).length;
}

function bigSource(root: string): string {
  const source = path.join(root, 'big');
  mkdirSync(source);
  for (let i = 0; i < 12; i++) writeFileSync(path.join(source, `part-${i}.bin`), randomBytes(48 * 1024 * 1024));
  return source;
}

/** Starts `haven run NAME --json` and resolves once its first pack has landed in `repo`. */
async function startRunAndWaitForFirstPack(haven: HavenSandbox, name: string, repo: string) {
  const child = spawn(process.execPath, [HAVEN_BIN, 'run', name, '--json'], { env: haven.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (output.stdout += d));
  child.stderr.on('data', (d) => (output.stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  // Mid-backup, whatever the machine's speed.
  const deadline = Date.now() + 60_000;
  while (packCount(repo) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { child, output, exited };
}

describe('runs in progress', () => {
  it('never runs the same task twice at once: the second run is skipped with the reason', async () => {
    const haven = havenSandbox();
    const source = bigSource(haven.root);
    const repo = path.join(haven.root, 'repo');
    await haven.json(['task', 'create', 'big', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    const first = await startRunAndWaitForFirstPack(haven, 'big', repo);
    const second = await haven.run(['run', 'big', '--json']);
    expect(second.code, second.stderr).to.equal(4);
    const record = JSON.parse(second.stdout);
    expect(record.status).to.equal('skipped');
    expect(record.reason).to.match(/task "big" is already running \(process \d+/);
    expect(await first.exited, first.output.stderr).to.equal(0);
  });

  it('records an interrupted run as failed and leaves a repository that checks clean', async () => {
    const haven = havenSandbox();
    const source = bigSource(haven.root);
    const repo = path.join(haven.root, 'repo');
    await haven.json(['task', 'create', 'big', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);

    const { child, output, exited } = await startRunAndWaitForFirstPack(haven, 'big', repo);
    child.kill('SIGINT');
    const code = await exited;
    const { stdout, stderr } = output;

    expect(code, stderr).to.equal(130); // interrupted (cli.md)
    const record = JSON.parse(stdout);
    expect(record.status).to.equal('failed');
    expect(record.reason).to.contain('interrupted by SIGINT');
    expect(record.snapshot).to.equal(null);

    const check = await haven.run(['check', 'big', '--json']);
    expect(check.code, check.stderr).to.equal(0);
    expect(JSON.parse(check.stdout).ok).to.equal(true);
    const again = await haven.run(['run', 'big', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout).files).to.equal(12);
  });
});
