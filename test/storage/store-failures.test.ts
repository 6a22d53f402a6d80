/**
 * Store failures through the real CLI and a real (fixture) provider: transient failures are
 * retried by the core and counted in the run record, a permanent one fails the run with the
 * provider's own words, Ctrl-C abandons a slow upload at once (exit 130) and leaves a
 * repository that checks clean. And the retry rules themselves, on a small store.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RetryingBlobStore } from '#core/storage/retrying-store.js';
import { StorageError } from '#core/errors.js';
import type { BlobInfo, BlobStore } from '@haven/plugin-api';
import { FIXTURE_PLUGINS, HAVEN_BIN, havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';
import { compareTrees } from '../engine/engine-helpers.js';

function faultySandbox(): { haven: HavenSandbox; source: string; repo: string } {
  const haven = havenSandbox({ HAVEN_PLUGIN_PATH: path.join(FIXTURE_PLUGINS, 'faulty-store') });
  const source = path.join(haven.root, 'docs');
  mkdirSync(path.join(source, 'sub'), { recursive: true });
  writeFileSync(path.join(source, 'a.txt'), 'alpha\n');
  writeFileSync(path.join(source, 'sub', 'b.bin'), randomBytes(300_000));
  writeFileSync(path.join(haven.root, 'pass'), 'a passphrase\n', { mode: 0o600 });
  return { haven, source, repo: path.join(haven.root, 'repo') };
}

async function createTask(haven: HavenSandbox, source: string, repo: string): Promise<void> {
  await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `faulty:${repo}`, '--password-file', path.join(haven.root, 'pass')]);
}

/**
 * Starts `haven ARGS` with a fault, and resolves once it holds its repository lock; `interrupt`
 * then sends Ctrl-C and says how it ended and how long that took.
 */
async function startAndWaitForLock(haven: HavenSandbox, repo: string, args: string[], fault: string) {
  const child = spawn(process.execPath, [HAVEN_BIN, ...args], { env: { ...haven.env, HAVEN_TEST_FAULT: fault }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const locks = path.join(repo, 'locks');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !(existsSync(locks) && readdirSync(locks).length > 0)) await new Promise((r) => setTimeout(r, 20));
  const interrupt = async () => {
    const sent = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    return { code, stdout, stderr, ms: Date.now() - sent };
  };
  return { locks, interrupt };
}

describe('store failures', function () {
  this.timeout(120_000);

  for (const [fault, what] of [['transient:2', 'failures with code ETRANSIENT'], ['plain:2', 'plain Errors of an API 1.0 provider']] as const) {
    it(`completes a backup when every put fails twice (${what}), and counts the retries`, async () => {
      const { haven, source, repo } = faultySandbox();
      await createTask(haven, source, repo);
      const env = { HAVEN_TEST_FAULT: fault };
      const run = await haven.run(['run', 'docs', '--json'], { env });
      expect(run.code, run.stderr).to.equal(0);
      const record = JSON.parse(run.stdout);
      expect(record.status).to.equal('success');
      // Every blob written (key, config, its copy, lock, packs, index, snapshot) failed twice.
      expect(record.retries).to.be.at.least(2 * 7);
      const restored = path.join(haven.root, 'restored');
      expect((await haven.run(['restore', 'docs', '--to', restored], { env })).code).to.equal(0);
      expect(compareTrees(source, path.join(restored, 'docs'))).to.deep.equal([]);
      expect((await haven.run(['check', 'docs', '--read-data'], { env })).code).to.equal(0);
    });
  }

  it('fails the run with the provider\'s own message on a permanent error, without retrying', async () => {
    const { haven, source, repo } = faultySandbox();
    await createTask(haven, source, repo);
    const run = await haven.run(['run', 'docs', '--json'], { env: { HAVEN_TEST_FAULT: 'permanent' } });
    expect(run.code).to.equal(1);
    const record = JSON.parse(run.stdout);
    expect(record.status).to.equal('failed');
    expect(record.reason).to.equal(`faulty:${repo} refused: the bucket refuses new objects: retention lock is on (test)`);
    expect(record.retries).to.equal(undefined);
    const text = await haven.run(['run', 'docs'], { env: { HAVEN_TEST_FAULT: 'permanent' } });
    expect(text.stderr).to.contain('haven: faulty:').and.contain('retention lock is on').and.not.contain('unexpected error');
  });

  it('stops a slow upload at once on Ctrl-C (exit 130); the repository checks clean and the next run completes', async () => {
    const { haven, source, repo } = faultySandbox();
    writeFileSync(path.join(source, 'big.bin'), randomBytes(40 * 1024 * 1024)); // a pack is sent long before the end
    await createTask(haven, source, repo);
    const { locks, interrupt } = await startAndWaitForLock(haven, repo, ['run', 'docs', '--json'], 'slow:60000');
    await new Promise((r) => setTimeout(r, 2000)); // the first pack is on its (60 s) way
    const { code, stdout, stderr, ms } = await interrupt();
    expect(code, stderr).to.equal(130);
    expect(ms).to.be.below(15_000);
    const record = JSON.parse(stdout);
    expect(record.status).to.equal('failed');
    expect(record.reason).to.equal('interrupted by SIGINT');
    expect(readdirSync(locks)).to.deep.equal([]); // the interrupted run released its lock
    const check = await haven.run(['check', 'docs', '--json']);
    expect(check.code, check.stdout + check.stderr).to.equal(0);
    const again = await haven.run(['run', 'docs', '--json']);
    expect(again.code, again.stderr).to.equal(0);
  });

  for (const command of ['restore', 'check'] as const) {
    it(`stops a slow read at once on Ctrl-C during ${command} (exit 130, "interrupted"), releasing its lock`, async () => {
      const { haven, source, repo } = faultySandbox();
      await createTask(haven, source, repo);
      expect((await haven.run(['run', 'docs'])).code).to.equal(0);
      const args = command === 'restore' ? ['restore', 'docs', '--to', path.join(haven.root, 'restored')] : ['check', 'docs', '--read-data'];
      const { locks, interrupt } = await startAndWaitForLock(haven, repo, args, 'slowget:60000');
      await new Promise((r) => setTimeout(r, 1500)); // a pack read is on its (60 s) way
      const { code, stderr, ms } = await interrupt();
      expect(code, stderr).to.equal(130);
      expect(ms).to.be.below(15_000);
      expect(stderr.trim()).to.equal('haven: interrupted by SIGINT');
      expect(readdirSync(locks)).to.deep.equal([]);
      const check = await haven.run(['check', 'docs', '--read-data', '--json']);
      expect(check.code, check.stdout + check.stderr).to.equal(0);
    });
  }
});

describe('opening a destination', () => {
  it('asks the provider to create the location only on the first backup', async () => {
    const { haven, source, repo } = faultySandbox();
    await createTask(haven, source, repo);
    const log = path.join(haven.root, 'opens.log');
    const env = { HAVEN_TEST_OPEN_LOG: log };
    expect((await haven.run(['run', 'docs'], { env })).code).to.equal(0);
    expect(readFileSync(log, 'utf8')).to.equal('create=false\ncreate=true\n');
    writeFileSync(log, '');
    expect((await haven.run(['run', 'docs'], { env })).code).to.equal(0);
    expect((await haven.run(['snapshots', 'docs'], { env })).code).to.equal(0);
    expect(readFileSync(log, 'utf8')).to.equal('create=false\ncreate=false\n');
  });

  it('refuses to start a new repository where this task made versions (a drive unplugged, a folder moved), until asked to', async () => {
    const haven = havenSandbox();
    const source = path.join(haven.root, 'docs');
    mkdirSync(source);
    writeFileSync(path.join(source, 'a.txt'), 'alpha\n');
    const repo = path.join(haven.root, 'usb-drive', 'haven');
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    const first = await haven.json<{ snapshot: string }>(['run', 'docs', '--json']);
    rmSync(path.join(haven.root, 'usb-drive'), { recursive: true }); // unplugged: the mount point's folder is gone
    const refused = await haven.run(['run', 'docs']);
    expect(refused.code, refused.stderr).to.equal(4);
    expect(refused.stdout).to.contain(`skipped — local:${repo} holds no repository, but task "docs" made version ${first.snapshot.slice(0, 12)} there on `);
    expect(refused.stdout).to.contain('Nothing was written. To start a new repository there, run the task with --new-repository');
    expect(existsSync(path.join(haven.root, 'usb-drive')), 'nothing created in its place').to.equal(false);
    const fresh = await haven.run(['run', 'docs', '--new-repository']);
    expect(fresh.code, fresh.stderr).to.equal(0);
    // Moved on purpose: after the task is edited to a new destination, its first run there creates one.
    await haven.json(['task', 'edit', 'docs', '--dest', `local:${path.join(haven.root, 'elsewhere')}`]);
    expect((await haven.run(['run', 'docs'])).code).to.equal(0);
  });

  it("shows the provider's own reason when a destination cannot be opened, in every reading command (exit 1)", async () => {
    const haven = havenSandbox();
    const source = path.join(haven.root, 'docs');
    mkdirSync(source);
    writeFileSync(path.join(source, 'a.txt'), 'alpha\n');
    const repo = path.join(haven.root, 'moved-away');
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    expect((await haven.run(['run', 'docs'])).code).to.equal(0);
    rmSync(repo, { recursive: true });
    for (const args of [['snapshots', 'docs'], ['ls', 'docs'], ['restore', 'docs', '--to', path.join(haven.root, 'r')], ['check', 'docs']]) {
      const result = await haven.run(args);
      expect([result.code, result.stderr], args[0]).to.deep.equal([1, `haven: local:${repo} cannot be opened: the folder ${repo} does not exist\n`]);
    }
  });
});

/** A store in memory whose calls fail as `failures` says (one entry per call, in order). */
class ScriptedStore implements BlobStore {
  readonly description = 'scripted:';
  calls = 0;
  constructor(private readonly failures: Array<Error | null>) {}
  private async step(): Promise<void> {
    const failure = this.failures[this.calls++];
    if (failure) throw failure;
  }
  async put(): Promise<void> {
    await this.step();
  }
  async get(): Promise<Buffer> {
    await this.step();
    return Buffer.from('ok');
  }
  async list(): Promise<BlobInfo[]> {
    await this.step();
    return [];
  }
  async delete(): Promise<void> {
    await this.step();
  }
  async stat(): Promise<BlobInfo | null> {
    await this.step();
    return null;
  }
  async close(): Promise<void> {}
}

const coded = (code: string, extra: object = {}): Error => Object.assign(new Error(`failure ${code}`), { code, ...extra });
const FAST = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50, maxElapsedMs: 10_000 };

describe('retry rules', () => {
  it('waits at least retryAfterMs before trying again', async () => {
    const store = new RetryingBlobStore(new ScriptedStore([coded('ETRANSIENT', { retryAfterMs: 400 }), null]), undefined, FAST);
    const started = Date.now();
    expect((await store.get('x')).toString()).to.equal('ok');
    expect(Date.now() - started).to.be.at.least(390);
    expect(store.retries).to.equal(1);
  });

  it('never retries not-found, permanent, authentication, quota or file-system refusals', async () => {
    for (const code of ['ENOENT', 'EPERMANENT', 'EAUTH', 'EQUOTA', 'ENOSPC', 'EACCES', 'EROFS']) {
      const inner = new ScriptedStore([coded(code), null]);
      const store = new RetryingBlobStore(inner, undefined, FAST);
      const err = await store.get('x').then(() => null, (e: unknown) => e as Error & { code?: string });
      expect(err, code).to.not.equal(null);
      expect(err!.code, code).to.equal(code); // callers still see the code (ENOENT, EROFS…)
      expect(inner.calls, code).to.equal(1);
      if (code !== 'ENOENT') expect(err, code).to.be.instanceOf(StorageError);
    }
  });

  it('gives up after the bounded number of attempts, naming the store and the last failure', async () => {
    const inner = new ScriptedStore([new Error('t1'), new Error('t2'), new Error('t3'), new Error('t4'), null]);
    const store = new RetryingBlobStore(inner, undefined, FAST);
    const err = await store.put('x', Buffer.alloc(1)).then(() => null, (e: Error) => e);
    expect(inner.calls).to.equal(4);
    expect(err!.message).to.equal('scripted: failed (gave up after retrying) (4 attempts): t4');
  });

  it('stops at once when the signal aborts, even while a call is in flight', async () => {
    const never = new ScriptedStore([]);
    never.get = () => new Promise<Buffer>(() => undefined);
    const abort = new AbortController();
    const store = new RetryingBlobStore(never, abort.signal, FAST);
    setTimeout(() => abort.abort(new Error('interrupted by SIGINT')), 50);
    const err = await store.get('x').then(() => null, (e: StorageError) => e);
    expect(err).to.be.instanceOf(StorageError);
    expect(err!.kind).to.equal('cancelled');
  });
});
