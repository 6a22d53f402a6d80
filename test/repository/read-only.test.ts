/**
 * Reading needs no writing: restore and check work from a repository on a read-only mount and
 * on a full disk (no lock can be written there), and say they read without a lock.
 * Real mounts (root only, as CI runs); every mount is undone, even when a test fails.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

const mounted: string[] = [];

function mount(args: string[], target: string): void {
  execFileSync('mount', [...args, target]);
  mounted.push(target);
}

async function backupTo(haven: HavenSandbox, repo: string): Promise<string> {
  const source = path.join(haven.root, 'docs');
  mkdirSync(path.join(source, 'sub'), { recursive: true });
  writeFileSync(path.join(source, 'a.txt'), 'alpha\n');
  writeFileSync(path.join(source, 'sub', 'b.txt'), 'beta\n');
  await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
  await haven.json(['run', 'docs']);
  return source;
}

async function expectReadsWithoutLock(haven: HavenSandbox, why: RegExp): Promise<void> {
  const restored = path.join(haven.root, 'restored');
  const restore = await haven.run(['restore', 'docs', '--to', restored, '--json']);
  expect(restore.code, restore.stderr).to.equal(0);
  expect(restore.stderr).to.contain('without a lock').and.match(why);
  expect(JSON.parse(restore.stdout).lockFree).to.match(why);
  expect(readFileSync(path.join(restored, 'docs', 'sub', 'b.txt'), 'utf8')).to.equal('beta\n');
  const check = await haven.run(['check', 'docs', '--read-data', '--json']);
  expect(check.code, check.stderr).to.equal(0);
  expect(JSON.parse(check.stdout)).to.include({ ok: true }).and.have.property('lockFree').that.matches(why);
}

describe('reading a repository that cannot be written', function () {
  before(function () {
    if (process.getuid?.() !== 0) throw new Error('these tests mount file systems: run them as root (CI does)');
  });
  afterEach(() => {
    while (mounted.length) execFileSync('umount', ['-l', mounted.pop()!]);
  });

  it('restores and checks from a read-only mount', async () => {
    const haven = havenSandbox();
    const repo = path.join(haven.root, 'repo');
    await backupTo(haven, repo);
    mount(['--bind', repo], repo);
    execFileSync('mount', ['-o', 'remount,bind,ro', repo]);
    await expectReadsWithoutLock(haven, /EROFS/);
  });

  it('restores and checks from a full disk', async () => {
    const haven = havenSandbox();
    const disk = path.join(haven.root, 'disk');
    mkdirSync(disk);
    mount(['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs'], disk);
    const repo = path.join(disk, 'repo');
    await backupTo(haven, repo);
    const fd = openSync(path.join(disk, 'filler'), 'w');
    try {
      const block = Buffer.alloc(64 * 1024, 1);
      for (;;) writeSync(fd, block);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    } finally {
      closeSync(fd);
    }
    await expectReadsWithoutLock(haven, /ENOSPC/);
  });

  it('takes no lock when asked (--no-lock), and says so', async () => {
    const haven = havenSandbox();
    const repo = path.join(haven.root, 'repo');
    await backupTo(haven, repo);
    const check = await haven.run(['check', 'docs', '--no-lock', '--json']);
    expect(check.code, check.stderr).to.equal(0);
    expect(JSON.parse(check.stdout).lockFree).to.contain('--no-lock');
    const restore = await haven.run(['restore', 'docs', '--no-lock', '--to', path.join(haven.root, 'out'), '--json']);
    expect(restore.code, restore.stderr).to.equal(0);
    expect(restore.stderr).to.contain('without a lock: asked for (--no-lock)');
  });
});
