/**
 * Backup and restore of a real tree, end to end through the engine facade and a real
 * LocalBlobStore: byte-identical restore, unchanged re-runs, small changes, dedup across tasks,
 * compression skipped for random data, link loops, conflicts, passwords.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync, writeSync, closeSync, symlinkSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  backup,
  check,
  initRepository,
  listDir,
  listSnapshots,
  openRepository,
  repositoryExists,
  restore,
  type Repository,
} from '#core/engine/index.js';
import { RepositoryNotFoundError, UsageError, WrongPasswordError } from '#core/errors.js';
import { localStore } from '../helpers/local-store.js';
import { META, addEdgeCases, compareTrees, tmp, writeRandomFile } from './engine-helpers.js';

const MiB = 1024 * 1024;

describe('engine: backup and restore', function () {
  this.timeout(180_000);
  let work: string;
  let src: string;
  let repoDir: string;
  let repo: Repository;
  let fifo = false;

  before(function () {
    work = tmp('br');
    src = path.join(work, 'src');
    mkdirSync(src);
    // A real tree: a copy of /usr/share/doc (links kept as links), at least 50 MB.
    cpSync('/usr/share/doc', path.join(src, 'doc'), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    const du = Number(execFileSync('du', ['-sb', path.join(src, 'doc')], { encoding: 'utf8' }).split('\t')[0]);
    expect(du, 'fixture size').to.be.greaterThan(50 * 1000 * 1000);
    fifo = addEdgeCases(src).fifo;
    repoDir = path.join(work, 'repo');
  });

  after(async function () {
    await repo?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('creates an encrypted repository and refuses to create a second one', async function () {
    const store = localStore(repoDir);
    expect(await repositoryExists(store)).to.equal(false);
    repo = await initRepository(store, { password: 'correct horse' });
    expect(await repositoryExists(store)).to.equal(true);
    let err: unknown;
    try {
      await initRepository(store, { password: 'other' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UsageError);
  });

  it('rejects a wrong password, a missing password, and a password for an unencrypted repository', async function () {
    const store = localStore(repoDir);
    const attempt = async (pw: string | null, s = store) => {
      try {
        const r = await openRepository(s, { password: pw });
        await r.close();
        return null;
      } catch (e) {
        return e;
      }
    };
    expect(await attempt('wrong password')).to.be.instanceOf(WrongPasswordError);
    expect(await attempt(null)).to.be.instanceOf(UsageError);
    const plainDir = path.join(work, 'plain-repo');
    const plain = await initRepository(localStore(plainDir), { password: null });
    await plain.close();
    expect(await attempt('x', localStore(plainDir))).to.be.instanceOf(UsageError);
    expect(await attempt(null, localStore(path.join(work, 'nothing-here')))).to.be.instanceOf(RepositoryNotFoundError);
    const ok = await openRepository(store, { password: 'correct horse' });
    await ok.close();
  });

  let firstId = '';
  it('backs up a real tree with links, a loop, odd names, a FIFO', async function () {
    const progress: number[] = [];
    const r = await backup(repo, { sources: [src], excludes: [], meta: META('task-a', 'run-1'), onProgress: (p) => progress.push(p.filesDone) });
    firstId = r.snapshotId;
    expect(r.errors).to.deep.equal([]);
    expect(r.files).to.be.greaterThan(1000);
    expect(r.bytesRead).to.be.greaterThan(50 * 1000 * 1000);
    expect(r.bytesAdded).to.be.greaterThan(5 * MiB);
    if (fifo) expect(r.skippedSpecial).to.be.at.least(1);
    expect(progress.length).to.be.greaterThan(0);
    const snaps = await listSnapshots(repo);
    expect(snaps.map((s) => s.id)).to.deep.equal([r.snapshotId]);
    expect(snaps[0]).to.include({ taskId: 'task-a', runId: 'run-1', files: r.files });
    const top = await listDir(repo, r.snapshotId.slice(0, 10));
    expect(top.map((e) => e.name)).to.deep.equal(['src']);
    const edge = await listDir(repo, 'latest', '/src/edge', 'task-a');
    const byName = new Map(edge.map((e) => [e.name, e]));
    expect(byName.get('link-to-file')).to.include({ type: 'symlink', target: 'target-file.txt' });
    expect(byName.get('link-to-folder')).to.include({ type: 'dir' }); // followed (product rule)
    expect(byName.get('résumé – 日本.txt')).to.include({ type: 'file' });
    expect(byName.has('a-fifo')).to.equal(false);
    const loop = await listDir(repo, 'latest', '/src/edge/real-folder', 'task-a');
    expect(loop.find((e) => e.name === 'loop-to-parent')).to.include({ type: 'symlink', target: '..' });
  });

  it('restores byte-identical: contents, modes, mtimes, link targets', async function () {
    const target = path.join(work, 'restore-1');
    const r = await restore(repo, { snapshot: firstId, target, conflict: 'overwrite' });
    expect(r.errors).to.deep.equal([]);
    expect(r.refused).to.deep.equal([]);
    expect(r.files).to.be.greaterThan(1000);
    expect(compareTrees(src, path.join(target, 'src'))).to.deep.equal([]);
    expect(readlinkSync(path.join(target, 'src', 'edge', 'link-to-file'))).to.equal('target-file.txt');
    expect(lstatSync(path.join(target, 'src', 'edge', 'link-to-folder')).isDirectory()).to.equal(true);
    expect(readFileSync(path.join(target, 'src', 'edge', 'résumé – 日本.txt'), 'utf8')).to.equal('non-ascii name ✓\n');
  });

  it('restores chosen paths only, and applies skip / rename / overwrite on conflicts', async function () {
    const target = path.join(work, 'restore-2');
    mkdirSync(target);
    writeFileSync(path.join(target, 'deep.txt'), 'mine');
    const skip = await restore(repo, { snapshot: 'latest', taskId: 'task-a', paths: ['/src/edge/real-folder/inner/deep.txt'], target, conflict: 'skip' });
    expect(skip.skipped).to.equal(1);
    expect(readFileSync(path.join(target, 'deep.txt'), 'utf8')).to.equal('mine');
    const ren = await restore(repo, { snapshot: 'latest', taskId: 'task-a', paths: ['/src/edge/real-folder/inner/deep.txt'], target, conflict: 'rename' });
    expect(ren.renamed).to.equal(1);
    expect(readFileSync(path.join(target, 'deep.txt'), 'utf8')).to.equal('mine');
    expect(readFileSync(path.join(target, 'deep (restored 1).txt'), 'utf8')).to.equal('deep content\n');
    const over = await restore(repo, { snapshot: 'latest', taskId: 'task-a', paths: ['/src/edge/real-folder/inner/deep.txt', '/src/edge/dossier été'], target, conflict: 'overwrite' });
    expect(over.files).to.equal(2);
    expect(readFileSync(path.join(target, 'deep.txt'), 'utf8')).to.equal('deep content\n');
    expect(readFileSync(path.join(target, 'dossier été', 'ça.txt'), 'utf8')).to.equal('ça va\n');
  });

  it('an unchanged re-run reads nothing again and adds < 1 MB', async function () {
    const r = await backup(repo, { sources: [src], excludes: [], meta: META('task-a', 'run-2') });
    expect(r.parent).to.equal(firstId);
    expect(r.unchanged).to.equal(r.files);
    expect(r.bytesAdded).to.be.lessThan(1000 * 1000);
    expect(r.errors).to.deep.equal([]);
  });

  it('excludes and includes filter entries', async function () {
    const r = await backup(repo, { sources: [path.join(src, 'edge')], excludes: ['*.sh', '**/real-folder/inner'], includes: ['*.txt'], meta: META('task-filter') });
    const names = (await listDir(repo, r.snapshotId, '/edge')).map((e) => e.name);
    expect(names).to.include('résumé – 日本.txt');
    expect(names).to.not.include('exec.sh');
    expect(names).to.not.include('empty-file'); // not *.txt
    const rf = (await listDir(repo, r.snapshotId, '/edge/real-folder')).map((e) => e.name);
    expect(rf).to.not.include('inner');
  });

  it('dedups across two tasks sharing a repository', async function () {
    const copy = path.join(work, 'copy-of-doc');
    cpSync(path.join(src, 'doc'), copy, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    const r = await backup(repo, { sources: [copy], excludes: [], meta: META('task-b') });
    expect(r.parent).to.equal(undefined);
    expect(r.bytesRead).to.be.greaterThan(50 * 1000 * 1000);
    expect(r.bytesAdded).to.be.lessThan(2 * MiB); // only new trees: every chunk exists
    rmSync(copy, { recursive: true, force: true });
  });

  describe('large files', function () {
    let big: string;
    let bigRepo: Repository;
    before(async function () {
      big = path.join(work, 'big');
      mkdirSync(big);
      writeRandomFile(path.join(big, 'random.bin'), 100 * MiB);
      bigRepo = await initRepository(localStore(path.join(work, 'big-repo')), { password: null });
    });
    after(async function () {
      await bigRepo?.close();
    });

    it('stores random data uncompressed (compression skipped)', async function () {
      const r = await backup(bigRepo, { sources: [big], excludes: [], meta: META('big') });
      expect(r.bytesAdded).to.be.within(100 * MiB, 101 * MiB);
      let dataBlobs = 0;
      for (const e of bigRepo.index.blobs.values()) {
        if (e.type !== 0) continue;
        dataBlobs++;
        expect(e.length, 'stored raw: payload + 1-byte flag').to.equal(e.rawLength + 1);
      }
      expect(dataBlobs).to.be.within(40, 300); // ~1 MiB average chunks
    });

    it('changing one byte in a 100 MB file adds about one chunk', async function () {
      const file = path.join(big, 'random.bin');
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.from([0x5a ^ readFileSync(file).subarray(50 * MiB, 50 * MiB + 1)[0]]), 0, 1, 50 * MiB);
      closeSync(fd);
      const r = await backup(bigRepo, { sources: [big], excludes: [], meta: META('big') });
      expect(r.bytesAdded).to.be.lessThan(3 * MiB);
      expect(r.bytesAdded).to.be.greaterThan(200 * 1024); // the changed chunk is stored
      const out = path.join(work, 'big-restore');
      const rr = await restore(bigRepo, { snapshot: r.snapshotId, target: out, conflict: 'overwrite' });
      expect(rr.errors).to.deep.equal([]);
      expect(readFileSync(path.join(out, 'big', 'random.bin')).equals(readFileSync(file))).to.equal(true);
    });

    it('an insertion near the start re-stores only a few chunks', async function () {
      const file = path.join(big, 'random.bin');
      const data = readFileSync(file);
      writeFileSync(file, Buffer.concat([data.subarray(0, 3 * MiB), Buffer.from('inserted bytes'), data.subarray(3 * MiB)]));
      const r = await backup(bigRepo, { sources: [big], excludes: [], meta: META('big') });
      expect(r.bytesAdded).to.be.lessThan(8 * MiB);
    });
  });

  it('terminates on link loops and stores the looping link as a link', async function () {
    const loopDir = path.join(work, 'loops');
    mkdirSync(path.join(loopDir, 'a', 'b'), { recursive: true });
    writeFileSync(path.join(loopDir, 'a', 'b', 'f.txt'), 'f');
    symlinkSync('../..', path.join(loopDir, 'a', 'b', 'up2'));
    symlinkSync(path.join(loopDir, 'a'), path.join(loopDir, 'a', 'b', 'abs-up'));
    symlinkSync('.', path.join(loopDir, 'a', 'self'));
    // A link pair that ping-pongs between two sibling folders.
    mkdirSync(path.join(loopDir, 'x'));
    mkdirSync(path.join(loopDir, 'y'));
    symlinkSync('../y', path.join(loopDir, 'x', 'to-y'));
    symlinkSync('../x', path.join(loopDir, 'y', 'to-x'));
    const r = await backup(repo, { sources: [loopDir], excludes: [], meta: META('loops') });
    expect(r.errors).to.deep.equal([]);
    expect(r.files).to.be.lessThan(10);
    const b = await listDir(repo, r.snapshotId, '/loops/a/b');
    expect(b.find((e) => e.name === 'up2')).to.include({ type: 'symlink' });
    expect(b.find((e) => e.name === 'abs-up')).to.include({ type: 'symlink' });
    const xy = await listDir(repo, r.snapshotId, '/loops/x/to-y');
    expect(xy.find((e) => e.name === 'to-x')).to.include({ type: 'symlink' });
    const out = path.join(work, 'loops-restore');
    const rr = await restore(repo, { snapshot: r.snapshotId, target: out, conflict: 'overwrite' });
    expect(rr.errors).to.deep.equal([]);
    expect(compareTrees(loopDir, path.join(out, 'loops'))).to.deep.equal([]);
  });

  it('the repository checks clean after all of it', async function () {
    const report = await check(repo, { readData: true });
    expect(report.problems).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.bytesVerified).to.be.greaterThan(50 * 1000 * 1000);
    expect(existsSync(repoDir)).to.equal(true);
    expect(statSync(repoDir).isDirectory()).to.equal(true);
  });
});
