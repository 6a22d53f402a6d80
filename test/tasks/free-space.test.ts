/**
 * A run that plainly will not fit is refused before it writes anything, with the figures, on a
 * real small file system (a 24 MiB tmpfs): a first backup by the size of its sources, a later
 * one by what its recent runs added. `--ignore-free-space` runs anyway, and a full destination
 * then fails the run with the provider's own message while the repository stays valid.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { RunRecord } from '@haven/plugin-api';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

const MiB = 1024 * 1024;

describe('free space at the destination', function () {
  this.timeout(180_000);
  let haven: HavenSandbox;
  let mount: string;
  let source: string;

  before(function () {
    haven = havenSandbox();
    mount = path.join(haven.root, 'small-drive');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'haven-test-small', mount]);
    source = path.join(haven.root, 'Photos');
    mkdirSync(path.join(source, 'raw'), { recursive: true });
    mkdirSync(path.join(source, 'cache'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(path.join(source, 'raw', `img-${i}.raw`), randomBytes(8 * MiB)); // 40 MiB, incompressible
    writeFileSync(path.join(source, 'cache', 'thumbs.db'), randomBytes(30 * MiB));
  });

  after(() => {
    if (mount) execFileSync('umount', [mount]);
  });

  it('refuses a first backup bigger than the destination, with the figures, and writes no data', async () => {
    const dest = `local:${path.join(mount, 'repo')}`;
    const created = await haven.run(['task', 'create', 'photos', '--source', source, '--dest', dest, '--exclude', 'cache', '--no-encryption']);
    expect(created.code, created.stderr).to.equal(0);
    const result = await haven.run(['run', 'photos']);
    expect(result.code, result.stderr + result.stdout).to.equal(4);
    expect(result.stdout).to.match(/: skipped — not enough space at local:\S+\/repo: this run needs about 40\.0 MiB \(a first backup: the size of its sources before compression and deduplication\), 2\d\.\d MiB free\./);
    const used = execFileSync('du', ['-sk', mount], { encoding: 'utf8' });
    expect(Number(used.split('\t')[0])).to.be.below(64); // a repository's config and key, no packs
    const [record] = await haven.json<RunRecord[]>(['history', 'photos', '--json']);
    expect(record).to.include({ status: 'skipped' });
    expect(record.reason).to.match(/^not enough space/);
  });

  it('runs anyway with --ignore-free-space; the full drive fails it with the store\'s message, and the repository still checks clean', async () => {
    const result = await haven.run(['run', 'photos', '--ignore-free-space']);
    expect(result.code, result.stdout).to.equal(1);
    expect(result.stderr + result.stdout).to.match(/is full \(or over quota\)/);
    const check = await haven.run(['check', 'photos']);
    expect(check.code, check.stdout + check.stderr).to.equal(0);
  });

  it('lets a backup that fits run, then refuses a later one when less is free than recent runs added', async () => {
    execFileSync('rm', ['-rf', path.join(mount, 'repo')]);
    for (let i = 2; i < 5; i++) execFileSync('rm', [path.join(source, 'raw', `img-${i}.raw`)]); // 16 MiB left
    const fits = await haven.run(['run', 'photos']);
    expect(fits.code, fits.stdout + fits.stderr).to.equal(0);
    // Something else fills the drive up to about 3 MiB free.
    const free = Number(execFileSync('df', ['-B1', '--output=avail', mount], { encoding: 'utf8' }).trim().split('\n')[1]);
    writeFileSync(path.join(mount, 'other-data'), Buffer.alloc(free - 3 * MiB));
    writeFileSync(path.join(source, 'raw', 'img-9.raw'), randomBytes(8 * MiB));
    const refused = await haven.run(['run', 'photos']);
    expect(refused.code, refused.stdout + refused.stderr).to.equal(4);
    expect(refused.stdout).to.match(/this run needs about 16\.\d MiB \(as much as its last run added\), [23]\.\d MiB free/);
  });
});
