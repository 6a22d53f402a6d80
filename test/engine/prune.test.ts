/**
 * Forget and prune on real local repositories: a task backed up four times with files added,
 * changed and deleted (one large enough to span two packs), two versions forgotten, then
 * pruned: the repository shrinks, what is kept restores byte for byte, check --read-data is
 * clean. A dry run changes nothing; a damaged snapshot makes prune refuse; an abort and a
 * SIGKILL at any moment leave a repository that checks clean and a prune that completes.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import {
  backup,
  check,
  forget,
  initRepository,
  listRepositoryLocks,
  listSnapshots,
  lockRepository,
  openRepository,
  prune,
  restore,
  unlockRepository,
  type PruneReport,
  type Repository,
} from '#core/engine/index.js';
import { InterruptedError, RepositoryCorruptError, RepositoryLockedError } from '#core/errors.js';
import { packBlobName } from '#core/repository/pack.js';
import { localStore } from '../helpers/local-store.js';
import { META, REPO_ROOT, listAll, tmp, writeRandomFile } from './engine-helpers.js';
import { manifest, storeBytes, storeState } from './prune-helpers.js';

const MiB = 1024 * 1024;
const PASSWORD = 'prune test';
const CHILD = path.join(REPO_ROOT, 'test', 'fixtures', 'workers', 'prune-child.mjs');
const CRASH_ROUNDS = 30;
/** Milliseconds each store call of the killed prune waits first (see prune-child.mjs). */
const CHILD_LATENCY = 15;

/** What a version held: relative path → content hash (files) or "dir". */
type Manifest = Record<string, string>;

interface Version {
  id: string;
  files: Manifest;
}

async function open(dir: string): Promise<Repository> {
  return openRepository(localStore(dir), { password: PASSWORD });
}

function copyRepository(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  execFileSync('cp', ['-a', from, to]);
}

/** Restores `paths` of a version (all of it without) and compares them with what was backed up. */
async function expectRestores(repo: Repository, work: string, v: Version, paths?: string[]): Promise<void> {
  const target = path.join(work, `restore-${randomBytes(4).toString('hex')}`);
  try {
    const r = await restore(repo, { snapshot: v.id, target, conflict: 'overwrite', paths, workers: 1 });
    expect(r.errors, JSON.stringify(r.errors)).to.deep.equal([]);
    if (!paths) {
      expect(manifest(path.join(target, readdirSync(target)[0]))).to.deep.equal(v.files);
      return;
    }
    // A path restores as its last segment under the target; manifests are relative to the source.
    for (const p of paths) {
      const rel = p.split('/').slice(2).join('/');
      const got = manifest(target);
      const base = path.basename(rel);
      const want = Object.entries(v.files).filter(([k]) => k === rel || k.startsWith(`${rel}/`));
      expect(want.length, `${p} in the version`).to.be.above(0);
      for (const [k, hash] of want) expect(got[path.join(base, k.slice(rel.length))], `${p}: ${k}`).to.equal(hash);
    }
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

async function expectCleanCheck(repo: Repository, readData: boolean): Promise<void> {
  const report = await check(repo, { readData });
  expect(report.ok, JSON.stringify(report.problems, null, 1)).to.equal(true);
}

describe('engine: forget and prune', function () {
  this.timeout(300_000);
  let work: string;
  let src: string;
  let repoDir: string;
  /** Copy of the repository after forget, before any prune: the start of the abort and crash tests. */
  let prepared: string;
  let repo: Repository;
  const versions: Version[] = [];
  let other: Version;
  let dry: PruneReport;

  const backUp = async (taskId = 't1', dir = src): Promise<Version> => {
    const r = await backup(repo, { sources: [dir], excludes: [], meta: META(taskId, `run-${versions.length}`), workers: 2 });
    return { id: r.snapshotId, files: manifest(dir) };
  };

  before(async function () {
    work = tmp('prune');
    src = path.join(work, 'src');
    repoDir = path.join(work, 'repo');
    prepared = path.join(work, 'prepared');
    repo = await initRepository(localStore(repoDir), { password: PASSWORD });

    // 1: a large file (spans two packs), a middling one, 40 small ones, a text file.
    mkdirSync(path.join(src, 'docs'), { recursive: true });
    writeRandomFile(path.join(src, 'big1.bin'), 20 * MiB);
    writeRandomFile(path.join(src, 'mid.bin'), 4 * MiB);
    for (let i = 0; i < 40; i++) writeFileSync(path.join(src, 'docs', `f${String(i).padStart(2, '0')}.txt`), randomBytes(4096).toString('hex'));
    writeFileSync(path.join(src, 'a.txt'), 'first version\n');
    versions.push(await backUp());
    // 2: a file changed, one added, one deleted.
    writeFileSync(path.join(src, 'a.txt'), 'second version\n');
    writeRandomFile(path.join(src, 'big2.bin'), 6 * MiB);
    rmSync(path.join(src, 'mid.bin'));
    versions.push(await backUp());
    // 3: the large file deleted, ten small ones changed, one added.
    rmSync(path.join(src, 'big1.bin'));
    for (let i = 0; i < 10; i++) writeFileSync(path.join(src, 'docs', `f0${i}.txt`), randomBytes(4096).toString('hex'));
    writeFileSync(path.join(src, 'docs', 'new.txt'), 'new in the third version\n');
    versions.push(await backUp());
    // 4: one MiB in the middle of big2 rewritten, half the small files deleted.
    const fd = openSync(path.join(src, 'big2.bin'), 'r+');
    writeSync(fd, randomBytes(MiB), 0, MiB, 3 * MiB);
    closeSync(fd);
    for (let i = 20; i < 40; i++) rmSync(path.join(src, 'docs', `f${i}.txt`));
    versions.push(await backUp());
    // Another task's version, which forgetting t1 leaves alone.
    const otherSrc = path.join(work, 'other');
    mkdirSync(otherSrc);
    writeRandomFile(path.join(otherSrc, 'own.bin'), MiB);
    other = await backUp('t2', otherSrc);
  });

  after(async function () {
    await repo?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('the large file spans two packs', async function () {
    const root = await repo.loadTree((await repo.loadSnapshot(versions[0].id)).tree);
    const top = await repo.loadTree(root.nodes[0].subtree!);
    const big = top.nodes.find((n) => n.name === 'big1.bin')!;
    expect(new Set(big.content!.map((id) => repo.index.get(id)!.pack)).size).to.be.at.least(2);
  });

  it('forget keeps the last two versions of the task and leaves the other task alone; its dry run removes nothing', async function () {
    const [v1, v2, v3, v4] = versions;
    const before = storeState(repoDir);
    const preview = await forget(repo, { taskId: 't1', policy: { keepLast: 2 }, dryRun: true });
    expect(preview.remove.map((s) => s.id)).to.deep.equal([v2.id, v1.id]);
    expect(storeState(repoDir)).to.deep.equal(before);
    // Without a task, the policy applies to each task on its own.
    const everyTask = await forget(repo, { policy: { keepLast: 1 }, dryRun: true });
    expect(everyTask.keep.map((s) => [s.id, s.taskId])).to.deep.equal([
      [other.id, 't2'],
      [v4.id, 't1'],
    ]);
    expect(everyTask.remove.map((s) => s.id)).to.deep.equal([v3.id, v2.id, v1.id]);
    expect(storeState(repoDir)).to.deep.equal(before);

    const result = await forget(repo, { taskId: 't1', policy: { keepLast: 2 } });
    expect(result.dryRun).to.equal(false);
    expect(result.keep.map((s) => [s.id, s.reasons])).to.deep.equal([
      [v4.id, ['last snapshot']],
      [v3.id, ['last snapshot']],
    ]);
    expect(result.remove.map((s) => s.id)).to.deep.equal([v2.id, v1.id]);
    expect(result.damaged).to.deep.equal([]);
    const left = (await listSnapshots(repo)).map((s) => s.id).sort();
    expect(left).to.deep.equal([v3.id, v4.id, other.id].sort());
    expect(await listRepositoryLocks(repo)).to.deep.equal([]);
    copyRepository(repoDir, prepared);
  });

  it('a dry run reports what prune would do and changes nothing', async function () {
    const before = storeState(repoDir);
    dry = await prune(repo, { dryRun: true });
    expect(storeState(repoDir)).to.deep.equal(before);
    expect(dry.dryRun).to.equal(true);
    expect(dry.snapshots).to.equal(3);
    expect(dry.packsDeleted, 'packs of big1, mid and the forgotten trees').to.be.at.least(2);
    expect(dry.packsRepacked, 'the pack shared by big1, mid and the small files').to.be.at.least(1);
    expect(dry.bytesFreed).to.be.above(20 * MiB);
    expect(dry.packsAfter).to.equal(dry.packsBefore - dry.packsDeleted - dry.packsRepacked + dry.packsWritten);
  });

  it('prune frees the space, what is kept restores byte for byte, check --read-data is clean', async function () {
    const packBytes = storeBytes(path.join(repoDir, 'data'));
    const total = storeBytes(repoDir);
    const report = await prune(repo);
    expect(report.dryRun).to.equal(false);
    // The dry run said what would happen.
    for (const k of ['packsBefore', 'packsAfter', 'packsDeleted', 'packsRepacked', 'packsWritten', 'blobsRemoved', 'bytesRepacked', 'usedBlobs'] as const) {
      expect(report[k], k).to.equal(dry[k]);
    }
    expect(Math.abs(report.bytesFreed - dry.bytesFreed), 'dry run estimate of the bytes freed').to.be.below(4096);
    // Measurably smaller, by exactly what it says.
    expect(report.bytesFreed).to.be.above(20 * MiB);
    expect(packBytes - storeBytes(path.join(repoDir, 'data'))).to.equal(report.bytesFreed);
    expect(storeBytes(repoDir)).to.be.below(total - 20 * MiB);
    expect(listAll(path.join(repoDir, 'data')).filter((p) => p.includes('/'))).to.have.length(report.packsAfter);
    expect(readdirSync(path.join(repoDir, 'index'))).to.have.length(1);
    expect(await listRepositoryLocks(repo)).to.deep.equal([]);

    const fresh = await open(repoDir);
    try {
      const checked = await check(fresh, { readData: true });
      expect(checked.ok, JSON.stringify(checked.problems)).to.equal(true);
      expect(checked.unindexedPacks).to.equal(0);
      expect(checked.supersededIndexFiles).to.equal(undefined);
      for (const v of [versions[2], versions[3], other]) await expectRestores(fresh, work, v);
      // Nothing left to do.
      const again = await prune(fresh);
      expect([again.packsDeleted, again.packsRepacked, again.indexFilesReplaced]).to.deep.equal([0, 0, 0]);
      expect(again.unusedBytesKept).to.equal(report.unusedBytesKept);
    } finally {
      await fresh.close();
    }
  });

  it('an aborted prune releases its lock and leaves a valid repository; the next prune completes', async function () {
    const dir = path.join(work, 'aborted');
    copyRepository(prepared, dir);
    const r = await open(dir);
    try {
      const abort = new AbortController();
      // Abort while the packs are being deleted, the last step.
      const store = r.store;
      const del = store.delete.bind(store);
      let packDeletes = 0;
      store.delete = async (name, options) => {
        if (name.startsWith('data/') && ++packDeletes === 1) abort.abort(new InterruptedError('stop'));
        return del(name, options);
      };
      let err: unknown;
      await prune(r, { signal: abort.signal }).catch((e) => (err = e));
      expect(err).to.be.instanceOf(InterruptedError);
      store.delete = del;
      expect(await listRepositoryLocks(r)).to.deep.equal([]);
      const checked = await check(r, { readData: true });
      expect(checked.ok, JSON.stringify(checked.problems)).to.equal(true);
      expect(checked.unindexedPacks, 'packs left to delete').to.be.above(0);
      await expectRestores(r, work, versions[3]);
      const done = await prune(r);
      expect(done.packsDeleted).to.be.above(0);
      expect((await check(r, { readData: false })).unindexedPacks).to.equal(0);

      // Aborted before it starts: nothing is locked or done.
      await prune(r, { signal: AbortSignal.abort(new InterruptedError('at once')) }).catch((e) => (err = e));
      expect((err as Error).message).to.equal('at once');
      expect(await listRepositoryLocks(r)).to.deep.equal([]);
    } finally {
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never runs beside a backup: a backup in progress (its shared lock) makes prune refuse, deleting nothing', async function () {
    const dir = path.join(work, 'busy');
    copyRepository(prepared, dir);
    const backupSide = await open(dir);
    const pruneSide = await open(dir);
    try {
      const running = await lockRepository(backupSide, { exclusive: false, purpose: 'backup' });
      const before = storeState(dir);
      let err: unknown;
      await prune(pruneSide).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RepositoryLockedError);
      expect((err as Error).message).to.contain('shared lock').and.contain('backup');
      expect(storeState(dir)).to.deep.equal(before);
      await running.release();
      expect((await prune(pruneSide)).packsDeleted).to.be.above(0);
    } finally {
      await backupSide.close();
      await pruneSide.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a used blob that does not verify keeps its pack as it is, reported; the rest is pruned', async function () {
    const dir = path.join(work, 'rotten');
    copyRepository(prepared, dir);
    const r = await open(dir);
    try {
      // f10.txt is unchanged since the first version: its pack also holds big1 or mid, so it is repacked.
      const root = await r.loadTree((await r.loadSnapshot(versions[2].id)).tree);
      const top = await r.loadTree(root.nodes[0].subtree!);
      const docs = await r.loadTree(top.nodes.find((n) => n.name === 'docs')!.subtree!);
      const blob = docs.nodes.find((n) => n.name === 'f10.txt')!.content![0];
      const entry = r.index.get(blob)!;
      const file = path.join(dir, packBlobName(entry.pack));
      const bytes = readFileSync(file);
      bytes[entry.offset + 20] ^= 0xff;
      writeFileSync(file, bytes);

      const report = await prune(r);
      expect(report.damagedPacks.map((d) => d.pack)).to.deep.equal([entry.pack]);
      expect(report.damagedPacks[0].message).to.include(blob);
      expect(report.packsDeleted).to.be.above(0);
      expect(existsSync(file)).to.equal(true);
      const checked = await check(r, { readData: true });
      expect(checked.problems.map((p) => [p.kind, p.pack])).to.deep.equal([['damaged-pack', entry.pack]]);
      expect(checked.problems[0].affected).to.deep.include({ snapshot: versions[2].id, path: '/src/docs/f10.txt' });
      await expectRestores(r, work, versions[3], ['/src/big2.bin']);
    } finally {
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`survives SIGKILL at any moment (${CRASH_ROUNDS} rounds): the repository checks clean, restores, and the next prune completes`, async function () {
    // The whole prune's time, from "ready" to its end, spreads the kill moments.
    const calibration = path.join(work, 'calibration');
    copyRepository(prepared, calibration);
    const full = await runChild(calibration, null);
    expect(full.killed).to.equal(false);
    expect(full.report!.packsDeleted).to.be.above(0);
    rmSync(calibration, { recursive: true, force: true });

    const phases: Record<string, number> = {};
    const oldIndex = new Set(readdirSync(path.join(prepared, 'index')));
    const oldPacks = new Set(listAll(path.join(prepared, 'data')));
    for (let round = 0; round < CRASH_ROUNDS; round++) {
      const dir = path.join(work, `crash-${round}`);
      copyRepository(prepared, dir);
      // Stratified over the calibrated time: even rounds across all of it, odd rounds across its
      // last 40 %, where the writes and deletions are (reading comes first and takes longest).
      const half = CRASH_ROUNDS / 2;
      const slice = (Math.floor(round / 2) + Math.random()) / half;
      const delay = Math.round(full.ms * (round % 2 === 0 ? slice * 1.1 : 0.6 + slice * 0.5));
      const child = await runChild(dir, delay);
      const phase = crashPhase(dir, { index: oldIndex, packs: oldPacks }, child.killed);
      phases[phase] = (phases[phase] ?? 0) + 1;

      const r = await open(dir);
      try {
        // The dead child's lock is stale (its process is gone) and is all there is to remove.
        const removed = await unlockRepository(r);
        for (const l of removed) {
          expect(l.stale, 'only a stale lock').to.be.a('string');
          expect(l.record?.pid).to.equal(child.pid);
        }
        const checked = await check(r, { readData: true });
        expect(checked.ok, `round ${round} (${phase}, ${delay} ms): ${JSON.stringify(checked.problems)}`).to.equal(true);
        await expectRestores(r, work, versions[3], ['/src/big2.bin', '/src/docs/f05.txt']);
        await expectRestores(r, work, versions[2], ['/src/docs/f30.txt', '/src/a.txt']);
        await expectRestores(r, work, other, ['/other/own.bin']);
        const second = await prune(r);
        expect(second.dryRun).to.equal(false);
        const after = await check(r, { readData: false });
        expect(after.ok, JSON.stringify(after.problems)).to.equal(true);
        expect([after.unindexedPacks, after.supersededIndexFiles, after.temporaries]).to.deep.equal([0, undefined, undefined]);
        const settled = await prune(r, { dryRun: true });
        expect([settled.packsDeleted, settled.packsRepacked]).to.deep.equal([0, 0]);
      } finally {
        await r.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    console.log(`      kill moments (calibrated prune: ${full.ms} ms): ${JSON.stringify(phases)}`);
    expect(CRASH_ROUNDS - (phases.completed ?? 0), 'rounds killed mid-work').to.be.at.least(CRASH_ROUNDS / 3);
  });

  it('prune refuses while a snapshot cannot be read or refers to data no pack holds; forget never removes a damaged snapshot', async function () {
    const dir = path.join(work, 'damaged');
    const small = path.join(work, 'small');
    mkdirSync(small);
    writeFileSync(path.join(small, 'x.txt'), 'x'.repeat(10_000));
    const r = await initRepository(localStore(dir), { password: PASSWORD });
    try {
      const meta = META('d');
      const first = (await backup(r, { sources: [small], excludes: [], meta })).snapshotId;
      writeFileSync(path.join(small, 'x.txt'), 'y'.repeat(10_000));
      const second = (await backup(r, { sources: [small], excludes: [], meta })).snapshotId;
      const blob = path.join(dir, 'snapshots', first);
      const bytes = readFileSync(blob);
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(blob, bytes);

      const before = storeState(dir);
      let err: unknown;
      await prune(r).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RepositoryCorruptError);
      expect((err as Error).message).to.include(first.slice(0, 12)).and.include('cannot be read').and.include('haven repair snapshots');
      expect(storeState(dir)).to.deep.equal(before);
      expect(await listRepositoryLocks(r)).to.deep.equal([]);

      const forgotten = await forget(r, { policy: { keepLast: 1 } });
      expect(forgotten.damaged.map((d) => d.id)).to.deep.equal([first]);
      expect(forgotten.keep.map((s) => s.id)).to.deep.equal([second]);
      expect(forgotten.remove).to.deep.equal([]);
      expect(existsSync(blob)).to.equal(true);

      // A version whose tree no pack holds.
      rmSync(blob);
      const snap = await r.loadSnapshot(second);
      const lost = randomBytes(32).toString('hex');
      await r.saveJson('snapshots', { ...snap, tree: lost });
      await prune(r).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RepositoryCorruptError);
      expect((err as Error).message).to.include(`tree ${lost.slice(0, 12)}`).and.include('haven repair snapshots');
      expect(statSync(path.join(dir, 'data')).isDirectory()).to.equal(true);
      expect(await listRepositoryLocks(r)).to.deep.equal([]);
    } finally {
      await r.close();
    }
  });
});

interface ChildRun {
  pid: number;
  killed: boolean;
  /** From "ready" to the end (or the kill). */
  ms: number;
  report?: PruneReport;
}

/** Runs prune-child.mjs on `dir`; kills it `killAfter` ms after it says "ready" (null: never). */
function runChild(dir: string, killAfter: number | null): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, PASSWORD, String(CHILD_LATENCY)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ready = 0;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!ready && out.startsWith('ready\n')) {
        ready = Date.now();
        if (killAfter !== null) setTimeout(() => child.kill('SIGKILL'), killAfter);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const done = /^done (.*)$/m.exec(out);
      if (signal !== 'SIGKILL' && (code !== 0 || !done)) return reject(new Error(`prune child failed (${code ?? signal}): ${err}`));
      resolve({ pid: child.pid!, killed: signal === 'SIGKILL', ms: Date.now() - (ready || Date.now()), report: done ? (JSON.parse(done[1]) as PruneReport) : undefined });
    });
  });
}

/** Where a killed prune stopped, as the repository shows it (`before`: the names it started with). */
function crashPhase(dir: string, before: { index: Set<string>; packs: Set<string> }, killed: boolean): string {
  if (!killed) return 'completed';
  const index = readdirSync(path.join(dir, 'index'));
  const old = index.filter((n) => before.index.has(n)).length;
  if (old === index.length) {
    return listAll(path.join(dir, 'data')).some((p) => !before.packs.has(p)) ? 'new packs written, no new index yet' : 'before any write';
  }
  if (old > 0) return 'new index written, old index blobs not all deleted';
  return 'after the old index was deleted';
}
