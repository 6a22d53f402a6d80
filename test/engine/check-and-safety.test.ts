/**
 * Check finds damage and names what it affects; restore refuses entries that would escape the
 * target; locks block and stale locks are reported.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  backup,
  check,
  initRepository,
  lockRepository,
  openRepository,
  restore,
  unlockRepository,
  type Repository,
} from '#core/engine/index.js';
import { RepositoryLockedError } from '#core/errors.js';
import { BlobType, packBlobName } from '#core/repository/pack.js';
import { serializeTree, type TreeNode } from '#core/repository/tree.js';
import { localStore } from '../helpers/local-store.js';
import { META, listAll, tmp, useScratchRepository, writeRandomFile } from './engine-helpers.js';

describe('engine: check', function () {
  this.timeout(120_000);
  let work: string;
  let repo: Repository;
  let repoDir: string;

  useScratchRepository('check', 'pw', (s) => ({ work, repoDir, repo } = s));

  it('reports a damaged pack with the files and snapshots it affects', async function () {
    const src = path.join(work, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeRandomFile(path.join(src, 'victim.bin'), 3 * 1024 * 1024);
    writeFileSync(path.join(src, 'sub', 'small.txt'), 'hello '.repeat(1000));
    const r1 = await backup(repo, { sources: [src], excludes: [], meta: META('t1') });
    const r2 = await backup(repo, { sources: [src], excludes: [], meta: META('t2') });
    expect((await check(repo, { readData: true })).ok).to.equal(true);

    // Flip bytes inside the first chunk of victim.bin.
    const tree = await repo.loadTree((await repo.loadSnapshot(r1.snapshotId)).tree);
    const srcTree = await repo.loadTree(tree.nodes[0].subtree!);
    const victim = srcTree.nodes.find((n: TreeNode) => n.name === 'victim.bin')!;
    const entry = repo.index.get(victim.content![0])!;
    const packFile = path.join(repoDir, packBlobName(entry.pack));
    const bytes = readFileSync(packFile);
    for (let i = 0; i < 16; i++) bytes[entry.offset + 100 + i] ^= 0xff;
    writeFileSync(packFile, bytes);

    const fresh = await openRepository(localStore(repoDir), { password: 'pw' });
    try {
      const quick = await check(fresh, { readData: false });
      expect(quick.problems.filter((p) => p.kind === 'damaged-pack')).to.have.length(0); // header intact
      const report = await check(fresh, { readData: true });
      expect(report.ok).to.equal(false);
      const prob = report.problems.find((p) => p.pack === entry.pack);
      expect(prob, JSON.stringify(report.problems)).to.not.equal(undefined);
      expect(prob!.kind).to.equal('damaged-pack');
      const affected = prob!.affected!.map((a) => `${a.snapshot}:${a.path}`);
      expect(affected).to.include(`${r1.snapshotId}:/src/victim.bin`);
      expect(affected).to.include(`${r2.snapshotId}:/src/victim.bin`);
      expect(affected.some((a) => a.endsWith('small.txt'))).to.equal(false);

      // Restore verifies every byte: the damaged file is an error, the rest restores.
      const out = path.join(work, 'out');
      const rr = await restore(fresh, { snapshot: r1.snapshotId, target: out, conflict: 'overwrite' });
      expect(rr.errors.map((e) => e.path)).to.deep.equal(['/src/victim.bin']);
      expect(readFileSync(path.join(out, 'src', 'sub', 'small.txt'), 'utf8')).to.equal('hello '.repeat(1000));
      expect(existsSync(path.join(out, 'src', 'victim.bin'))).to.equal(false);
      expect(readdirSync(path.join(out, 'src')).filter((n) => n.includes('haven-restore'))).to.deep.equal([]);
    } finally {
      await fresh.close();
    }
  });

  it('reports a missing pack', async function () {
    const dir = path.join(work, 'repo-missing');
    const r = await initRepository(localStore(dir), { password: null });
    const src = path.join(work, 'src2');
    mkdirSync(src);
    writeFileSync(path.join(src, 'a.txt'), 'a'.repeat(5000));
    await backup(r, { sources: [src], excludes: [], meta: META('m') });
    const packs = readdirSync(path.join(dir, 'data'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    for (const p of packs) rmSync(path.join(p.parentPath ?? (p as unknown as { path: string }).path, p.name));
    const report = await check(r, { readData: false });
    expect(report.ok).to.equal(false);
    expect(report.problems.map((p) => p.kind)).to.include('missing-pack');
    await r.close();
  });
});

describe('engine: restore never writes outside the target', function () {
  this.timeout(60_000);
  let work: string;
  let repo: Repository;

  useScratchRepository('safety', null, (s) => ({ work, repo } = s));

  /** Builds a snapshot whose root tree holds `nodes`, straight through the repository layer. */
  async function maliciousSnapshot(build: (blob: (data: Buffer, type: BlobType) => string) => TreeNode[]): Promise<string> {
    const blobs: Array<{ id: string; type: BlobType; rawLength: number; data: Uint8Array }> = [];
    const blob = (data: Buffer, type: BlobType): string => {
      const id = repo.hash(data);
      if (!blobs.some((b) => b.id === id)) blobs.push({ id, type, rawLength: data.length, data: repo.seal(data) });
      return id;
    };
    const nodes = build(blob);
    const root = blob(serializeTree(nodes), BlobType.Tree);
    const info = await repo.uploadPack(blobs);
    await repo.saveIndex([info]);
    const saved = await repo.saveJson('snapshots', {
      v: 1, time: new Date().toISOString(), taskId: 'evil', task: 'evil', runId: 'r', host: 'h', user: 'u',
      sources: ['/x'], tree: root, files: 0, dirs: 0, bytes: 0, bytesAdded: 0, errors: 0,
    });
    return saved.name.slice('snapshots/'.length);
  }

  const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: Date.now(), ctime: 0, ino: 1 };

  it('refuses .., ../x, absolute and slash names and files "through" a link', async function () {
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    const target = path.join(work, 'target', 'inner');
    mkdirSync(target, { recursive: true });
    const payload = Buffer.from('pwned\n');
    const snap = await maliciousSnapshot((blob) => {
      const content = [blob(payload, BlobType.Data)];
      const file = (name: string): TreeNode => ({ ...base, name, type: 'file', size: payload.length, content });
      const inner = blob(serializeTree([file('through.txt')]), BlobType.Tree);
      const nested = blob(serializeTree([file('..'), file('../../escaped-nested.txt')]), BlobType.Tree);
      return [
        file('..'),
        file('.'),
        file(''),
        file('../escaped.txt'),
        file('../../escaped2.txt'),
        file(path.join(outside, 'absolute.txt')),
        file('a/b.txt'),
        { ...base, name: 'link', type: 'symlink', target: outside },
        { ...base, name: 'link', type: 'dir', mode: 0o755, subtree: inner },
        { ...base, name: 'uplink', type: 'symlink', target: '../..' },
        { ...base, name: 'uplink', type: 'file', size: payload.length, content },
        { ...base, name: 'nested', type: 'dir', mode: 0o755, subtree: nested },
        file('fine.txt'),
      ];
    });
    const before = listAll(work).filter((p) => !p.startsWith('repo'));
    const r = await restore(repo, { snapshot: snap, target, conflict: 'overwrite' });
    const refused = r.refused.map((x) => x.path);
    expect(refused).to.include.members(['/..', '/.', '/', '/../escaped.txt', '/../../escaped2.txt', `/${path.join(outside, 'absolute.txt')}`, '/a/b.txt', '/link', '/uplink', '/nested/..', '/nested/../../escaped-nested.txt']);
    expect(readdirSync(outside)).to.deep.equal([]);
    const after = listAll(work).filter((p) => !p.startsWith('repo'));
    const added = after.filter((p) => !before.includes(p));
    for (const p of added) expect(p.startsWith('target/inner/'), `written outside the target: ${p}`).to.equal(true);
    expect(readFileSync(path.join(target, 'fine.txt'), 'utf8')).to.equal('pwned\n');
    // The link itself is restored as a link, and nothing went through it.
    expect(readdirSync(target).sort()).to.deep.equal(['fine.txt', 'link', 'nested', 'uplink']);
  });

  it('never follows a link already in the target', async function () {
    const outside = path.join(work, 'outside2');
    mkdirSync(outside);
    const target = path.join(work, 'target2');
    mkdirSync(target);
    symlinkSync(outside, path.join(target, 'docs'));
    symlinkSync(path.join(outside, 'victim.txt'), path.join(target, 'file.txt'));
    const payload = Buffer.from('content\n');
    const snap = await maliciousSnapshot((blob) => {
      const content = [blob(payload, BlobType.Data)];
      const inner = blob(serializeTree([{ ...base, name: 'x.txt', type: 'file', size: payload.length, content }]), BlobType.Tree);
      return [
        { ...base, name: 'docs', type: 'dir', mode: 0o755, subtree: inner },
        { ...base, name: 'file.txt', type: 'file', size: payload.length, content },
      ];
    });
    for (const conflict of ['skip', 'rename', 'overwrite'] as const) {
      const r = await restore(repo, { snapshot: snap, target, conflict });
      expect(r.errors, conflict).to.deep.equal([]);
      expect(readdirSync(outside), conflict).to.deep.equal([]);
    }
    expect(readFileSync(path.join(target, 'docs', 'x.txt'), 'utf8')).to.equal('content\n');
    expect(readFileSync(path.join(target, 'file.txt'), 'utf8')).to.equal('content\n');
  });
});

describe('engine: locks', function () {
  this.timeout(60_000);
  let work: string;
  let repoDir: string;
  before(function () {
    work = tmp('locks');
    repoDir = path.join(work, 'repo');
  });
  after(function () {
    rmSync(work, { recursive: true, force: true });
  });

  it('an exclusive lock of a live process blocks a backup; stale locks are reported, block with a clear message, and can be removed', async function () {
    const a = await initRepository(localStore(repoDir), { password: null });
    const src = path.join(work, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'f'), 'x');
    const held = await lockRepository(a, { exclusive: true, purpose: 'prune' });
    const b = await openRepository(localStore(repoDir), { password: null });
    let err: unknown;
    try {
      await backup(b, { sources: [src], excludes: [], meta: META() });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(RepositoryLockedError);
    expect((err as Error).message).to.match(/exclusive lock .*pid \d+/);
    await held.release();
    await backup(b, { sources: [src], excludes: [], meta: META() });

    // A lock left by a process that is gone: find a dead pid.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const now = new Date().toISOString();
    await b.saveJson('locks', { exclusive: true, host: os.hostname(), pid: deadPid, user: 'ghost', time: now, refreshed: now });
    await b.saveJson('locks', { exclusive: false, host: 'elsewhere', pid: 1, user: 'ghost', time: '2020-01-01T00:00:00.000Z', refreshed: '2020-01-01T00:00:00.000Z' });
    let stale: unknown;
    try {
      await backup(b, { sources: [src], excludes: [], meta: META() });
    } catch (e) {
      stale = e;
    }
    expect(stale).to.be.instanceOf(RepositoryLockedError);
    expect((stale as Error).message).to.match(/stale/).and.match(/no longer running/).and.match(/haven unlock/);
    const removed = await unlockRepository(b);
    expect(removed).to.have.length(2);
    await backup(b, { sources: [src], excludes: [], meta: META() });
    await a.close();
    await b.close();
  });

  it('check lists stale locks', async function () {
    const r = await openRepository(localStore(repoDir), { password: null });
    await r.saveJson('locks', { exclusive: false, host: 'elsewhere', pid: 1, user: 'ghost', time: '2020-01-01T00:00:00.000Z', refreshed: '2020-01-01T00:00:00.000Z' });
    const report = await check(r, { readData: false });
    expect(report.staleLocks).to.have.length(1);
    expect(report.staleLocks[0]).to.include({ host: 'elsewhere', pid: 1 });
    expect(report.staleLocks[0].reason).to.match(/30 minutes/);
    await unlockRepository(r);
    await r.close();
  });
});
