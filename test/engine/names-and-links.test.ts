/**
 * Names that are not valid UTF-8 (Linux names are bytes) and hard links: backed up, restored
 * byte-exact / as links, unchanged re-runs stay free, and the restore safety rules hold on the
 * raw bytes.
 */
import { expect } from 'chai';
import { linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { backup, listDir, restore, type Repository } from '#core/engine/index.js';
import { BlobType } from '#core/repository/pack.js';
import { serializeTree, type TreeNode } from '#core/repository/tree.js';
import { META, useScratchRepository, writeRandomFile } from './engine-helpers.js';

const MiB = 1024 * 1024;

/** Joins raw path pieces with "/". */
function bpath(...parts: Array<string | Buffer>): Buffer {
  const out: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(Buffer.from('/'));
    out.push(typeof p === 'string' ? Buffer.from(p) : p);
  });
  return Buffer.concat(out);
}

/** Every entry below `dir` as raw bytes: relative path (hex) → kind and content (hex). */
function rawListing(dir: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: Buffer, rel: Buffer): void => {
    for (const name of readdirSync(d, { encoding: 'buffer' })) {
      const p = bpath(d, name);
      const r = rel.length ? bpath(rel, name) : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.set(r.toString('hex'), 'dir');
        walk(p, r);
      } else if (st.isSymbolicLink()) out.set(r.toString('hex'), `link:${readlinkSync(p, { encoding: 'buffer' }).toString('hex')}`);
      else out.set(r.toString('hex'), `file:${readFileSync(p).toString('hex')}`);
    }
  };
  walk(dir, Buffer.alloc(0));
  return out;
}

describe('engine: non-UTF-8 names and hard links', function () {
  this.timeout(120_000);
  let work: string;
  let repo: Repository;

  useScratchRepository('names', null, (s) => ({ work, repo } = s));

  it('backs up and restores names that are not valid UTF-8 byte-exact; an unchanged re-run adds almost nothing', async function () {
    const src = path.join(work, 'src');
    mkdirSync(src);
    const badDir = Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2d, 0x64, 0x69, 0x72]); // "bad\xff-dir"
    const badFile = Buffer.from([0x66, 0xfe, 0xff, 0x2e, 0x74, 0x78, 0x74]); // "f\xfe\xff.txt"
    mkdirSync(bpath(src, badDir));
    writeFileSync(bpath(src, badDir, badFile), 'inside a bad folder\n');
    writeFileSync(bpath(src, badDir, 'plain.txt'), 'plain name below a bad folder\n');
    mkdirSync(bpath(src, badDir, 'sub'));
    writeFileSync(bpath(src, badDir, 'sub', 'deep.txt'), 'deep\n');
    // Two names with the same display form ("x\uFFFD") must stay two entries.
    writeFileSync(bpath(src, Buffer.from([0x78, 0xff])), 'x-ff\n');
    writeFileSync(bpath(src, Buffer.from([0x78, 0xfe])), 'x-fe\n');
    // A valid name that really contains U+FFFD is an ordinary name.
    writeFileSync(path.join(src, 'real-\uFFFD.txt'), 'valid replacement character\n');
    // A link whose target is not valid UTF-8.
    symlinkSync(bpath('target', Buffer.from([0xff])), bpath(src, 'odd-link'));
    writeRandomFile(path.join(src, 'big.bin'), 2 * MiB);

    const r1 = await backup(repo, { sources: [src], excludes: [], meta: META('names') });
    expect(r1.errors).to.deep.equal([]);
    expect(r1.files).to.equal(7);

    const top = await listDir(repo, r1.snapshotId, '/src');
    const bad = top.filter((e) => e.nameBytes !== undefined);
    expect(bad.map((e) => Buffer.from(e.nameBytes!, 'base64').toString('hex')).sort()).to.deep.equal(
      [badDir, Buffer.from([0x78, 0xfe]), Buffer.from([0x78, 0xff])].map((b) => b.toString('hex')).sort(),
    );
    expect(top.find((e) => e.name === 'real-\uFFFD.txt')?.nameBytes).to.equal(undefined);

    const target = path.join(work, 'restore-names');
    const rr = await restore(repo, { snapshot: r1.snapshotId, target, conflict: 'overwrite' });
    expect(rr.errors).to.deep.equal([]);
    expect(rr.refused).to.deep.equal([]);
    expect(rr.files).to.equal(7);
    const want = rawListing(Buffer.from(src));
    const got = rawListing(Buffer.from(path.join(target, 'src')));
    expect([...got.entries()].sort()).to.deep.equal([...want.entries()].sort());
    expect(readFileSync(bpath(target, 'src', badDir, badFile), 'utf8')).to.equal('inside a bad folder\n');
    expect(Math.floor(statSync(bpath(target, 'src', badDir)).mtimeMs)).to.equal(Math.floor(statSync(bpath(src, badDir)).mtimeMs));

    const r2 = await backup(repo, { sources: [src], excludes: [], meta: META('names', 'run-2') });
    expect(r2.errors).to.deep.equal([]);
    expect(r2.unchanged).to.equal(7);
    expect(r2.bytesAdded).to.be.lessThan(1 * MiB);
    const s1 = await repo.loadSnapshot(r1.snapshotId);
    const s2 = await repo.loadSnapshot(r2.snapshotId);
    expect(s2.tree).to.equal(s1.tree); // canonical: unchanged folders, same trees

    // Restoring again with "rename" gives a non-UTF-8 name a "(restored 1)" sibling.
    const badDirName = top.find((e) => e.nameBytes && Buffer.from(e.nameBytes, 'base64').equals(badDir))!.name;
    const inner = await listDir(repo, r1.snapshotId, `/src/${badDirName}`);
    const badFileName = inner.find((e) => e.nameBytes && Buffer.from(e.nameBytes, 'base64').equals(badFile))!.name;
    writeFileSync(bpath(target, badFile), 'in the way\n');
    const again = await restore(repo, { snapshot: r1.snapshotId, target, conflict: 'rename', paths: [`/src/${badDirName}/${badFileName}`] });
    expect(again.errors).to.deep.equal([]);
    expect(again.renamed).to.equal(1);
    expect(readFileSync(bpath(target, badFile), 'utf8')).to.equal('in the way\n');
    expect(readFileSync(bpath(target, Buffer.from([0x66, 0xfe, 0xff, ...Buffer.from(' (restored 1).txt')])), 'utf8')).to.equal('inside a bad folder\n');
  });

  it('restores hard-linked files as hard links, and one of them alone', async function () {
    const src = path.join(work, 'links');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'a.txt'), 'shared content\n');
    linkSync(path.join(src, 'a.txt'), path.join(src, 'sub', 'b.txt'));
    linkSync(path.join(src, 'a.txt'), path.join(src, 'c.txt'));
    writeRandomFile(path.join(src, 'large.bin'), 6 * MiB); // written in pieces by the workers
    linkSync(path.join(src, 'large.bin'), path.join(src, 'sub', 'large-link.bin'));
    writeFileSync(path.join(src, 'single.txt'), 'not linked\n');

    const r = await backup(repo, { sources: [src], excludes: [], meta: META('links') });
    expect(r.errors).to.deep.equal([]);

    const target = path.join(work, 'restore-links');
    const rr = await restore(repo, { snapshot: r.snapshotId, target, conflict: 'overwrite' });
    expect(rr.errors).to.deep.equal([]);
    expect(rr.files).to.equal(6);
    const t = path.join(target, 'links');
    const ino = (p: string) => lstatSync(path.join(t, p)).ino;
    expect(ino('sub/b.txt')).to.equal(ino('a.txt'));
    expect(ino('c.txt')).to.equal(ino('a.txt'));
    expect(lstatSync(path.join(t, 'a.txt')).nlink).to.equal(3);
    expect(ino('sub/large-link.bin')).to.equal(ino('large.bin'));
    expect(ino('single.txt')).to.not.equal(ino('a.txt'));
    expect(readFileSync(path.join(t, 'sub', 'b.txt'), 'utf8')).to.equal('shared content\n');
    expect(readFileSync(path.join(t, 'large.bin')).equals(readFileSync(path.join(src, 'large.bin')))).to.equal(true);
    expect(Math.floor(lstatSync(path.join(t, 'sub')).mtimeMs)).to.equal(Math.floor(lstatSync(path.join(src, 'sub')).mtimeMs));
    expect(readdirSync(path.join(t, 'sub')).sort()).to.deep.equal(['b.txt', 'large-link.bin']); // no temporary names left

    // Only one member: written as a plain file.
    const one = path.join(work, 'restore-one');
    const r1 = await restore(repo, { snapshot: r.snapshotId, target: one, conflict: 'overwrite', paths: ['/links/sub/b.txt'] });
    expect(r1.errors).to.deep.equal([]);
    expect(r1.files).to.equal(1);
    expect(readFileSync(path.join(one, 'b.txt'), 'utf8')).to.equal('shared content\n');
    expect(lstatSync(path.join(one, 'b.txt')).nlink).to.equal(1);

    // The first member is skipped (conflict): the others are not linked to the file in the way.
    const skip = path.join(work, 'restore-skip');
    mkdirSync(path.join(skip, 'links'), { recursive: true });
    writeFileSync(path.join(skip, 'links', 'a.txt'), 'mine\n');
    const rs = await restore(repo, { snapshot: r.snapshotId, target: skip, conflict: 'skip' });
    expect(rs.errors).to.deep.equal([]);
    expect(rs.skipped).to.equal(1);
    const s = path.join(skip, 'links');
    expect(readFileSync(path.join(s, 'a.txt'), 'utf8')).to.equal('mine\n');
    expect(lstatSync(path.join(s, 'a.txt')).nlink).to.equal(1);
    expect(readFileSync(path.join(s, 'c.txt'), 'utf8')).to.equal('shared content\n');
    expect(readFileSync(path.join(s, 'sub', 'b.txt'), 'utf8')).to.equal('shared content\n');
    expect(lstatSync(path.join(s, 'c.txt')).ino).to.equal(lstatSync(path.join(s, 'sub', 'b.txt')).ino);

    // Restoring over the restored copy (overwrite) keeps the links and leaves no temporary names.
    const ro = await restore(repo, { snapshot: r.snapshotId, target, conflict: 'overwrite' });
    expect(ro.errors).to.deep.equal([]);
    expect(ino('sub/b.txt')).to.equal(ino('a.txt'));
    expect(readdirSync(t).sort()).to.deep.equal(['a.txt', 'c.txt', 'large.bin', 'single.txt', 'sub']);

    // An unchanged re-run reuses everything.
    const r2 = await backup(repo, { sources: [src], excludes: [], meta: META('links', 'run-2') });
    expect(r2.unchanged).to.equal(6);
    expect((await repo.loadSnapshot(r2.snapshotId)).tree).to.equal((await repo.loadSnapshot(r.snapshotId)).tree);
  });

  it('checks raw names: refuses "..", "/", NUL and malformed nameBytes', async function () {
    const evil = path.join(work, 'evil');
    const outside = path.join(evil, 'outside');
    mkdirSync(outside, { recursive: true });
    const target = path.join(evil, 'target', 'inner');
    mkdirSync(target, { recursive: true });
    const payload = Buffer.from('pwned\n');
    const blobs: Array<{ id: string; type: BlobType; rawLength: number; data: Uint8Array }> = [];
    const blob = (data: Buffer, type: BlobType): string => {
      const id = repo.hash(data);
      if (!blobs.some((b) => b.id === id)) blobs.push({ id, type, rawLength: data.length, data: repo.seal(data) });
      return id;
    };
    const base = { mode: 0o644, uid: 0, gid: 0, size: payload.length, mtime: Date.now(), ctime: 0, ino: 1 };
    const content = [blob(payload, BlobType.Data)];
    const file = (name: string, bytes: Buffer | string): TreeNode => ({
      ...base, name, nameBytes: typeof bytes === 'string' ? bytes : bytes.toString('base64'), type: 'file', content,
    });
    const nodes: TreeNode[] = [
      file('ok', Buffer.from('..')),
      file('ok2', Buffer.from('.')),
      file('ok3', Buffer.from([0xff, 0x2f, 0x2e, 0x2e, 0x2f, 0x65])), // "\xff/../e"
      file('ok4', Buffer.from([0xff, 0x00])),
      file('ok5', Buffer.alloc(0)),
      file('ok6', 'not base64!!'),
      file('ok7', Buffer.from(`../${path.basename(outside)}/x`)),
      file('fine', Buffer.from([0x66, 0xff])),
      // Same raw name twice: the second in tree order ("fine" after "dup") is refused.
      { ...file('dup', Buffer.from([0x66, 0xff])), size: payload.length },
    ];
    const root = blob(serializeTree(nodes), BlobType.Tree);
    const info = await repo.uploadPack(blobs);
    await repo.saveIndex([info]);
    const saved = await repo.saveJson('snapshots', {
      v: 1, time: new Date().toISOString(), taskId: 'evil', task: 'evil', runId: 'r', host: 'h', user: 'u',
      sources: ['/x'], tree: root, files: 0, dirs: 0, bytes: 0, bytesAdded: 0, errors: 0,
    });
    const listRaw = () => [...rawListing(Buffer.from(evil)).keys()].map((k) => Buffer.from(k, 'hex').toString('latin1'));
    const before = listRaw();
    const r = await restore(repo, { snapshot: saved.name.slice('snapshots/'.length), target, conflict: 'overwrite' });
    expect(r.errors).to.deep.equal([]);
    expect(r.refused.map((x) => x.path).sort()).to.deep.equal(['/fine', '/ok', '/ok2', '/ok3', '/ok4', '/ok5', '/ok6', '/ok7']);
    expect(readdirSync(outside)).to.deep.equal([]);
    expect(readdirSync(target, { encoding: 'buffer' }).map((b) => b.toString('hex'))).to.deep.equal([Buffer.from([0x66, 0xff]).toString('hex')]);
    const added = listRaw().filter((p) => !before.includes(p));
    expect(added.length).to.equal(1); // target/inner/f\xff
    for (const p of added) expect(p.startsWith('target/inner/'), `written outside the target: ${p}`).to.equal(true);
  });
});
