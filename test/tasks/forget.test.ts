/**
 * Retention through the CLI: a task's policy applied after each run, `haven forget` with and
 * without --prune / --dry-run, and `task delete --purge` — with the space given back, every
 * kept version restorable and the repository checking clean.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';
import { compareTrees } from '../engine/engine-helpers.js';

/** Bytes of every file below `dir`. */
function du(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

describe('forget and prune through the CLI', function () {
  this.timeout(180_000);
  let haven: HavenSandbox;
  let source: string;
  let repo: string;

  /** A new version: the previous big file replaced by a new one (3 MiB of fresh data). */
  async function newVersion(i: number, expectCode = 0): Promise<{ retention?: { forgotten: number; bytesFreed: number }; snapshot: string }> {
    rmSync(path.join(source, `big-${i - 1}.bin`), { force: true });
    writeFileSync(path.join(source, `big-${i}.bin`), randomBytes(3 * 1024 * 1024));
    const run = await haven.run(['run', 'docs', '--json']);
    expect(run.code, run.stderr).to.equal(expectCode);
    return JSON.parse(run.stdout);
  }

  beforeEach(async () => {
    haven = havenSandbox();
    source = path.join(haven.root, 'docs');
    repo = path.join(haven.root, 'repo');
    mkdirSync(source);
    writeFileSync(path.join(source, 'notes.txt'), 'kept in every version\n');
  });

  it("applies the task's policy after each run and gives the space back", async () => {
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption', '--keep-last', '2']);
    const records = [];
    for (let i = 1; i <= 4; i++) records.push(await newVersion(i));
    expect(records.map((r) => r.retention?.forgotten ?? 0)).to.deep.equal([0, 0, 1, 1]);
    expect(records[3].retention!.bytesFreed).to.be.greaterThan(2 * 1024 * 1024);
    const snaps = await haven.json<Array<{ id: string }>>(['snapshots', 'docs']);
    expect(snaps.map((s) => s.id).sort()).to.deep.equal([records[2].snapshot, records[3].snapshot].sort());
    // Two versions of ~3 MiB each remain, not four.
    expect(du(path.join(repo, 'data'))).to.be.below(7.5 * 1024 * 1024);
    expect((await haven.run(['check', 'docs', '--read-data'])).code).to.equal(0);
    const out = path.join(haven.root, 'restored');
    expect((await haven.run(['restore', 'docs', '--to', out])).code).to.equal(0);
    expect(compareTrees(source, path.join(out, 'docs'))).to.deep.equal([]);
  });

  it('forgets by the --keep options given: a dry run removes nothing; --prune gives the space back', async () => {
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    const made = [];
    for (let i = 1; i <= 3; i++) made.push(await newVersion(i));
    const none = await haven.run(['forget', 'docs']);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.contain('has no retention policy, and none was given');

    const dry = await haven.json<{ forget: { dryRun: boolean; remove: Array<{ id: string }>; keep: Array<{ id: string; reasons: string[] }> } }>(['forget', 'docs', '--keep-last', '1', '--dry-run']);
    expect(dry.forget.dryRun).to.equal(true);
    expect(dry.forget.remove.map((r) => r.id).sort()).to.deep.equal([made[0].snapshot, made[1].snapshot].sort());
    expect(dry.forget.keep.map((k) => [k.id, k.reasons])).to.deep.equal([[made[2].snapshot, ['last snapshot']]]);
    expect(await haven.json<unknown[]>(['snapshots', 'docs'])).to.have.length(3);

    const before = du(path.join(repo, 'data'));
    const text = await haven.run(['forget', 'docs', '--keep-last', '1', '--prune']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.contain('keep 1 version:').and.contain('removed 2 versions:').and.contain('prune: ');
    expect(await haven.json<unknown[]>(['snapshots', 'docs'])).to.have.length(1);
    expect(du(path.join(repo, 'data'))).to.be.below(before - 5 * 1024 * 1024);
    expect((await haven.run(['check', 'docs', '--read-data'])).code).to.equal(0);

    const bad = await haven.run(['forget', 'docs', '--keep-within', '3x']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--keep-within');
  });

  it('task delete --purge removes every version of the task and its data', async () => {
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    for (let i = 1; i <= 2; i++) await newVersion(i);
    const deleted = await haven.run(['task', 'delete', 'docs', '--purge']);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(deleted.stdout).to.contain('deleted task "docs" and its 2 versions');
    expect(readdirSync(path.join(repo, 'snapshots'))).to.deep.equal([]);
    expect(du(path.join(repo, 'data'))).to.be.below(64 * 1024);
    expect((await haven.run(['task', 'show', 'docs'])).code).to.equal(2);
  });
});
