/**
 * Restore runs in batches on worker threads: damage inside a file written in pieces is an
 * error that leaves nothing behind, and names claimed by files still being written count as
 * taken for the rename and skip policies.
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { backup, restore, type Repository } from '#core/engine/index.js';
import { packBlobName } from '#core/repository/pack.js';
import type { TreeNode } from '#core/repository/tree.js';
import { META, useScratchRepository, writeRandomFile } from './engine-helpers.js';

const MiB = 1024 * 1024;

describe('engine: batched restore', function () {
  this.timeout(120_000);
  let work: string;
  let repo: Repository;
  let repoDir: string;

  useScratchRepository('rbatch', 'pw', (s) => ({ work, repoDir, repo } = s));

  it('a damaged chunk in the middle of a large file fails that file only, without leftovers', async function () {
    const src = path.join(work, 'src');
    mkdirSync(src, { recursive: true });
    writeRandomFile(path.join(src, 'large.bin'), 24 * MiB);
    writeRandomFile(path.join(src, 'ok.bin'), 20 * MiB);
    for (let i = 0; i < 50; i++) writeFileSync(path.join(src, `f${i}.txt`), `file ${i}\n`.repeat(i * 10));
    const r = await backup(repo, { sources: [src], excludes: [], meta: META('t') });

    const out1 = path.join(work, 'out1');
    const good = await restore(repo, { snapshot: r.snapshotId, target: out1, conflict: 'overwrite' });
    expect(good.errors).to.deep.equal([]);
    expect(good.files).to.equal(52);
    for (const n of readdirSync(src)) expect(readFileSync(path.join(out1, 'src', n)).equals(readFileSync(path.join(src, n))), n).to.equal(true);

    const root = await repo.loadTree((await repo.loadSnapshot(r.snapshotId)).tree);
    const srcTree = await repo.loadTree(root.nodes[0].subtree!);
    const large = srcTree.nodes.find((n: TreeNode) => n.name === 'large.bin')!;
    const mid = large.content![Math.floor(large.content!.length / 2)];
    const entry = repo.index.get(mid)!;
    const packFile = path.join(repoDir, packBlobName(entry.pack));
    const bytes = readFileSync(packFile);
    for (let i = 0; i < 16; i++) bytes[entry.offset + 50 + i] ^= 0xff;
    writeFileSync(packFile, bytes);

    const out2 = path.join(work, 'out2');
    const bad = await restore(repo, { snapshot: r.snapshotId, target: out2, conflict: 'overwrite' });
    expect(bad.errors.map((e) => e.path)).to.include('/src/large.bin');
    expect(bad.errors.find((e) => e.path === '/src/large.bin')!.message).to.match(/content could not be restored/);
    const names = readdirSync(path.join(out2, 'src'));
    expect(names.filter((n) => n.includes('haven-restore'))).to.deep.equal([]);
    expect(names).to.not.include('large.bin');
    expect(readFileSync(path.join(out2, 'src', 'f7.txt'), 'utf8')).to.equal('file 7\n'.repeat(70));
  });

  it('rename never lets two restored files take the same name', async function () {
    const src = path.join(work, 'src2');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'a.txt'), 'snapshot a\n');
    writeFileSync(path.join(src, 'a (restored 1).txt'), 'snapshot a-restored-1\n');
    const r = await backup(repo, { sources: [src], excludes: [], meta: META('t2') });
    const target = path.join(work, 'out3');
    mkdirSync(path.join(target, 'src2'), { recursive: true });
    writeFileSync(path.join(target, 'src2', 'a.txt'), 'already there\n');
    const rr = await restore(repo, { snapshot: r.snapshotId, target, conflict: 'rename' });
    expect(rr.errors).to.deep.equal([]);
    const dir = path.join(target, 'src2');
    const contents = readdirSync(dir).map((n) => readFileSync(path.join(dir, n), 'utf8')).sort();
    expect(contents).to.deep.equal(['already there\n', 'snapshot a-restored-1\n', 'snapshot a\n'].sort());
    expect(readFileSync(path.join(dir, 'a.txt'), 'utf8')).to.equal('already there\n');
  });
});
