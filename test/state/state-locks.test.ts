/**
 * State locks: the lock file is taken atomically (its owner record is there from the first
 * instant), a lock of a dead process is taken over, a live owner is reported, and concurrent
 * writers in separate processes never lose an update — of a counter or of the task store.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isProcessAlive, tryLock, type LockOwner } from '#core/util/file-lock.js';
import { REPO_ROOT, havenSandbox, tempDir } from '../helpers/haven-cli.js';

const LOCK_MODULE = pathToFileURL(path.join(REPO_ROOT, 'core', 'dist', 'util', 'file-lock.js')).href;

/** Writes a small ES module script that uses the real lock module, for a child process. */
function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `import { tryLock, withLock } from ${JSON.stringify(LOCK_MODULE)};\n${body}\n`);
  return file;
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
}

/** A pid that surely belongs to no process: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exitOf(child);
  expect(isProcessAlive(child.pid!)).to.equal(false);
  return child.pid!;
}

function ownerRecord(pid: number, extra: Partial<LockOwner> = {}): string {
  return JSON.stringify({ pid, host: os.hostname(), since: new Date().toISOString(), purpose: 'test', nonce: `n${pid}`, ...extra });
}

describe('state locks', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('takes over the lock of a dead process', async () => {
    const lock = path.join(tempDir(), 'x.lock');
    writeFileSync(lock, ownerRecord(await deadPid()));
    const result = await tryLock(lock, 'test');
    expect(result).to.have.property('release');
    const owner = JSON.parse(readFileSync(lock, 'utf8')) as LockOwner;
    expect(owner.pid).to.equal(process.pid);
    expect(owner).to.include.keys('host', 'since', 'purpose', 'nonce');
    if ('release' in result) await result.release();
    expect(existsSync(lock)).to.equal(false);
    expect(readdirSync(path.dirname(lock))).to.deep.equal([]); // no temp or takeover files left
  });

  it('reports a live owner in another process, and takes the lock over once it is killed', async () => {
    const dir = tempDir();
    const lock = path.join(dir, 'x.lock');
    const holder = spawn(process.execPath, [script(dir, 'hold.mjs', `await tryLock(process.argv[2], 'held by a test'); console.log('locked'); setInterval(() => {}, 1000);`), lock], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d) => String(d).includes('locked') && resolve());
      holder.on('close', () => reject(new Error('the holder exited early')));
    });
    const held = await tryLock(lock, 'test');
    expect(held).to.have.property('heldBy');
    if ('heldBy' in held) {
      expect(held.heldBy.pid).to.equal(holder.pid);
      expect(held.heldBy.purpose).to.equal('held by a test');
      expect(held.heldBy.host).to.equal(os.hostname());
    }
    holder.kill('SIGKILL');
    await exitOf(holder);
    const taken = await tryLock(lock, 'test');
    expect(taken).to.have.property('release');
    if ('release' in taken) await taken.release();
  });

  it('judges an unreadable lock or one of another host only by its age', async () => {
    const dir = tempDir();
    for (const content of ['{"pid":', ownerRecord(await deadPid(), { host: 'another-host.example' })]) {
      const lock = path.join(dir, 'x.lock');
      writeFileSync(lock, content);
      expect(await tryLock(lock, 'test')).to.have.property('heldBy');
      const old = new Date(Date.now() - 60 * 60_000);
      utimesSync(lock, old, old);
      const taken = await tryLock(lock, 'test');
      expect(taken).to.have.property('release');
      if ('release' in taken) await taken.release();
    }
  });

  it('never loses an increment when many processes update one file under withLock', async function () {
    this.timeout(60_000);
    const dir = tempDir();
    const counter = path.join(dir, 'counter');
    writeFileSync(counter, '0');
    // A lock left by a dead process at the start: all workers race to take it over at once.
    writeFileSync(`${counter}.lock`, ownerRecord(await deadPid()));
    const worker = script(dir, 'increment.mjs', `
      import { readFileSync, writeFileSync } from 'node:fs';
      const [counter, times] = [process.argv[2], Number(process.argv[3])];
      for (let i = 0; i < times; i++) {
        await withLock(counter + '.lock', 'increment', async () => {
          const n = Number(readFileSync(counter, 'utf8'));
          await new Promise((r) => setTimeout(r, 1)); // widen the read-modify-write window
          writeFileSync(counter, String(n + 1));
        });
      }`);
    const workers = Array.from({ length: 8 }, () => spawn(process.execPath, [worker, counter, '25'], { stdio: ['ignore', 'ignore', 'inherit'] }));
    children.push(...workers);
    expect(await Promise.all(workers.map(exitOf))).to.deep.equal(Array(8).fill(0));
    expect(readFileSync(counter, 'utf8')).to.equal('200');
    expect(readdirSync(dir).sort()).to.deep.equal(['counter', 'increment.mjs']);
  });

  it('keeps every task when 20 processes create tasks at once (20 rounds)', async function () {
    this.timeout(180_000);
    for (let round = 0; round < 20; round++) {
      const haven = havenSandbox();
      const source = path.join(haven.root, 'src');
      mkdirSync(source);
      const names = Array.from({ length: 20 }, (_, i) => `t${i}`);
      const results = await Promise.all(
        names.map((name) => haven.run(['task', 'create', name, '--source', source, '--dest', `local:${path.join(haven.root, 'repo')}`, '--no-encryption'])),
      );
      results.forEach((r, i) => expect(r.code, `round ${round}, ${names[i]}: ${r.stderr}`).to.equal(0));
      const home = haven.env.HAVEN_HOME!;
      const store = JSON.parse(readFileSync(path.join(home, 'tasks.json'), 'utf8')) as { tasks: Array<{ name: string }> };
      expect(store.tasks.map((t) => t.name).sort(), `round ${round}`).to.deep.equal([...names].sort());
      expect(readdirSync(home).sort(), `round ${round}`).to.deep.equal(['tasks.json']);
    }
  });
});
