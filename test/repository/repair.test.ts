/**
 * Lost packs and damaged index blobs: the next backup uploads again what the sources still
 * hold, a restore needs only intact packs, and `repair index` / `repair snapshots` leave a
 * repository that checks clean, with what was lost marked.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';
import { compareTrees, listAll } from '../engine/engine-helpers.js';

interface Setup {
  haven: HavenSandbox;
  repo: string;
  source: string;
  first: string;
}

/** A task over a folder with two random files (3 and 1 MiB) and a small text file, backed up once. */
async function backedUp(): Promise<Setup> {
  const haven = havenSandbox();
  const source = path.join(haven.root, 'docs');
  mkdirSync(path.join(source, 'sub'), { recursive: true });
  writeFileSync(path.join(source, 'big.bin'), randomBytes(3 * 1024 * 1024));
  writeFileSync(path.join(source, 'keep.bin'), randomBytes(1024 * 1024));
  writeFileSync(path.join(source, 'sub', 'note.txt'), 'a note\n');
  const repo = path.join(haven.root, 'repo');
  writeFileSync(path.join(haven.root, 'pass'), 'a passphrase\n', { mode: 0o600 });
  await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', path.join(haven.root, 'pass')]);
  const first = (await haven.json<{ snapshot: string }>(['run', 'docs'])).snapshot;
  return { haven, repo, source, first };
}

/** Pack files, largest first (the data pack of `big.bin` before the tree pack). */
function packs(repo: string): Array<{ file: string; size: number }> {
  return listAll(path.join(repo, 'data'))
    .map((rel) => path.join(repo, 'data', rel))
    .filter((f) => statSync(f).isFile())
    .map((file) => ({ file, size: statSync(file).size }))
    .sort((a, b) => b.size - a.size);
}

async function restoreLatest(haven: HavenSandbox, name = 'restored'): Promise<string> {
  const target = path.join(haven.root, name);
  const r = await haven.run(['restore', 'docs', '--to', target]);
  expect(r.code, r.stderr).to.equal(0);
  return path.join(target, 'docs');
}

describe('repairing a repository', function () {
  this.timeout(180_000);

  it('a lost pack: the next run uploads the data again, repair index and repair snapshots leave a clean repository with the loss marked', async () => {
    const { haven, repo, source, first } = await backedUp();
    rmSync(packs(repo)[0].file); // the pack holding big.bin and keep.bin
    // big.bin changes (its old content is gone for good); keep.bin does not, and must be read again.
    writeFileSync(path.join(source, 'big.bin'), randomBytes(3 * 1024 * 1024));

    const run = await haven.run(['run', 'docs', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const record = JSON.parse(run.stdout);
    expect(record.status).to.equal('success');
    expect(record.warnings).to.have.length(1);
    expect(record.warnings[0]).to.match(/1 pack\(s\) of the repository .* are missing/);
    expect(record.bytesAdded).to.be.above(4 * 1024 * 1024);
    const history = await haven.json<Array<{ warnings?: string[] }>>(['history', 'docs', '--limit', '1']);
    expect(history[0].warnings).to.deep.equal(record.warnings);
    // The new version is whole: keep.bin, unchanged, was read and stored again.
    expect(compareTrees(source, await restoreLatest(haven))).to.deep.equal([]);

    const damaged = await haven.run(['check', 'docs', '--json']);
    expect(damaged.code).to.equal(1);
    const problems = JSON.parse(damaged.stdout).problems as Array<{ kind: string; affected?: Array<{ snapshot: string; path: string }> }>;
    expect(problems.map((p) => p.kind)).to.include('missing-blob');
    expect(problems.flatMap((p) => p.affected ?? [])).to.deep.include({ snapshot: first, path: '/docs/big.bin' });

    const index = await haven.json<{ lostBlobs: number; removedIndexFiles: number }>(['repair', 'index', 'docs']);
    expect(index.removedIndexFiles).to.be.at.least(2);
    const dry = await haven.json<{ repaired: Array<{ original: string; replacement: string | null }> }>(['repair', 'snapshots', 'docs', '--dry-run']);
    expect(dry.repaired).to.deep.equal([{ original: first, replacement: null, files: 1, dirs: 0, affected: ['/docs/big.bin'] }]);
    expect(readdirSync(path.join(repo, 'snapshots'))).to.include(first);
    const repair = await haven.json<{ repaired: Array<{ original: string; replacement: string }>; intact: number }>(['repair', 'snapshots', 'docs']);
    expect(repair.intact).to.equal(1);
    expect(repair.repaired).to.have.length(1);
    expect(readdirSync(path.join(repo, 'snapshots'))).to.not.include(first);

    const clean = await haven.run(['check', 'docs', '--read-data']);
    expect(clean.code, clean.stdout).to.equal(0);
    const versions = await haven.json<Array<{ id: string; repaired?: { original: string; files: number } }>>(['snapshots', 'docs']);
    expect(versions.find((v) => v.id === repair.repaired[0].replacement)!.repaired).to.include({ original: first, files: 1 });
    // The repaired version keeps what was intact: the note, keep.bin (stored again by the second
    // run), and big.bin up to its first lost chunk (nothing: all its chunks were in the lost pack).
    const old = path.join(haven.root, 'old');
    const restored = await haven.run(['restore', 'docs', '--snapshot', repair.repaired[0].replacement, '--to', old]);
    expect(restored.code, restored.stderr).to.equal(0);
    expect(readFileSync(path.join(old, 'docs', 'sub', 'note.txt'), 'utf8')).to.equal('a note\n');
    expect(readFileSync(path.join(old, 'docs', 'keep.bin'))).to.deep.equal(readFileSync(path.join(source, 'keep.bin')));
    expect(statSync(path.join(old, 'docs', 'big.bin')).size).to.equal(0);
    const listed = await haven.json<Array<{ name: string; repaired?: unknown }>>(['ls', 'docs', repair.repaired[0].replacement, '/docs']);
    expect(listed.find((e) => e.name === 'big.bin')!.repaired).to.deep.include({ lostFromByte: 0, originalSize: 3 * 1024 * 1024 });
  });

  it('a damaged index blob: restore reads the pack headers, the next run replaces the blob, check is clean again', async () => {
    const { haven, repo, source } = await backedUp();
    const [indexName] = readdirSync(path.join(repo, 'index'));
    const indexFile = path.join(repo, 'index', indexName);
    const bytes = readFileSync(indexFile);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(indexFile, bytes);

    expect(compareTrees(source, await restoreLatest(haven))).to.deep.equal([]);
    const before = await haven.run(['check', 'docs', '--json']);
    expect(before.code).to.equal(1);
    expect(JSON.parse(before.stdout).problems.map((p: { kind: string }) => p.kind)).to.include('damaged-index');

    const run = await haven.run(['run', 'docs', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout).bytesAdded).to.be.below(1024 * 1024); // nothing uploaded again
    const after = await haven.run(['check', 'docs', '--read-data', '--json']);
    expect(after.code, after.stdout).to.equal(0);
    expect(JSON.parse(after.stdout).supersededIndexFiles).to.equal(1);

    const repaired = await haven.json<{ removedIndexFiles: number; lostBlobs: number }>(['repair', 'index', 'docs']);
    expect(repaired.lostBlobs).to.equal(0);
    expect(readdirSync(path.join(repo, 'index'))).to.have.length(1);
    const final = await haven.run(['check', 'docs', '--read-data', '--json']);
    expect(final.code, final.stdout).to.equal(0);
    expect(JSON.parse(final.stdout).supersededIndexFiles).to.equal(undefined);
    expect(compareTrees(source, await restoreLatest(haven, 'again'))).to.deep.equal([]);
  });
});
