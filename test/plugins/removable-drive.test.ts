/**
 * The `removable` provider on real file systems: ext4 images on loop devices, mounted at
 * changing mount points (root only, as CI runs). A drive is found by its label or UUID wherever
 * it is mounted; unplugged, its runs are skipped and nothing is written anywhere; a drive that
 * only shares the label is refused; a full drive is a clear failure, never a damaged repository.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { HAVEN_BIN, havenSandbox, tempDir, type HavenSandbox } from '../helpers/haven-cli.js';
import { execFileSync, spawn } from 'node:child_process';
import { createLoopDrive, destroyLoopDrive, type LoopDrive } from '../helpers/loop-drive.js';
import { compareTrees } from '../engine/engine-helpers.js';
import { startService } from '../helpers/haven-service.js';

describe('removable drives (loop-mounted ext4)', function () {
  this.timeout(300_000);
  let work: string;
  let haven: HavenSandbox;
  let source: string;
  const drives: LoopDrive[] = [];

  const drive = (label: string, sizeMiB?: number) => {
    const d = createLoopDrive(work, label, sizeMiB);
    drives.push(d);
    return d;
  };

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('these tests mount file systems: run them as root (CI does)');
    work = tempDir('haven-removable-');
    haven = havenSandbox();
    source = path.join(haven.root, 'docs');
    mkdirSync(path.join(source, 'sub'), { recursive: true });
    writeFileSync(path.join(source, 'a.txt'), 'on the drive\n');
    writeFileSync(path.join(source, 'sub', 'b.bin'), randomBytes(2 * 1024 * 1024));
  });

  after(() => {
    for (const d of drives) destroyLoopDrive(d);
  });

  it('passes the conformance kit on a mounted drive', async () => {
    const usb = drive(`KIT${process.pid % 1000}`, 256);
    usb.mount(path.join(work, 'mnt-kit'));
    const kit = await haven.run(['plugins', 'check', 'removable', '--location', `${usb.label}/kit`]);
    expect(kit.code, kit.stdout + kit.stderr).to.equal(0);
    expect(kit.stdout).to.not.contain('FAILED');
    usb.unmount();
  });

  it('backs up to a drive by label, skips while it is unplugged, and finds it at another mount point', async () => {
    const usb = drive(`BACKUP${process.pid % 1000}`);
    const first = path.join(work, 'media', 'me', 'USB');
    usb.mount(first);
    const created = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `removable:${usb.label}/haven`, '--no-encryption']);
    expect(created.code, created.stderr).to.equal(0);
    const run1 = await haven.run(['run', 'docs', '--json']);
    expect(run1.code, run1.stderr).to.equal(0);
    expect(existsSync(path.join(first, 'haven', 'config'))).to.equal(true);
    expect(JSON.parse(readFileSync(path.join(first, '.haven-drive.json'), 'utf8')).uuid).to.equal(usb.uuid);

    // Unplugged: skipped, and nothing written into the empty mount-point folder.
    usb.unmount();
    const away = await haven.run(['run', 'docs', '--json']);
    expect(away.code).to.equal(4);
    const skipped = JSON.parse(away.stdout);
    expect(skipped.status).to.equal('skipped');
    expect(skipped.reason).to.contain(`drive ${usb.label} is not connected`);
    expect(readdirSync(first)).to.deep.equal([]);

    // Plugged in again elsewhere: the same destination; the run reuses what is there.
    const second = path.join(work, 'run', 'media', 'me', 'USB1');
    usb.mount(second);
    const run2 = await haven.run(['run', 'docs', '--json']);
    expect(run2.code, run2.stderr).to.equal(0);
    expect(JSON.parse(run2.stdout).bytesAdded).to.be.below(64 * 1024);
    const out = path.join(haven.root, 'restored');
    expect((await haven.run(['restore', 'docs', '--to', out])).code).to.equal(0);
    expect(compareTrees(source, path.join(out, 'docs'))).to.deep.equal([]);
    expect((await haven.run(['check', 'docs', '--read-data'])).code).to.equal(0);

    // By UUID too, case and all.
    const byUuid = await haven.run(['task', 'create', 'docs-uuid', '--source', source, '--dest', `removable:${usb.uuid.toUpperCase()}/haven`, '--no-encryption']);
    expect(byUuid.code, byUuid.stderr).to.equal(0);
    expect((await haven.run(['run', 'docs-uuid'])).code).to.equal(0);
    // haven drives: where it is now, and which tasks use it (by label or by UUID).
    const listed = (await haven.json<Array<{ label?: string; uuid?: string; fileSystem?: string; mountPoint?: string; freeBytes?: number; tasks: string[] }>>(['drives'])).find((d) => d.uuid === usb.uuid);
    expect(listed).to.deep.include({ label: usb.label, fileSystem: 'ext4', mountPoint: second, tasks: ['docs', 'docs-uuid'] });
    expect(listed!.freeBytes).to.be.above(1024 * 1024);
    expect((await haven.run(['drives'])).stdout).to.contain(usb.label).and.contain(second);
    usb.unmount();

    // Another drive that only carries the same label is not taken for it.
    const impostor = drive(usb.label);
    const at = path.join(work, 'media', 'me', 'USB');
    impostor.mount(at);
    const refused = await haven.run(['run', 'docs', '--json']);
    expect(refused.code).to.equal(4);
    expect(JSON.parse(refused.stdout).reason).to.contain('is not the drive').and.contain(usb.uuid).and.contain('Nothing was written');
    expect(readdirSync(at).filter((n) => n !== 'lost+found')).to.deep.equal([]);
    impostor.unmount();
  });

  it('runs its on-connect tasks when the drive is connected, with the service running', async () => {
    const usb = drive(`SYNC${process.pid % 1000}`);
    const env = { HAVEN_SOCKET: path.join(haven.root, 'run', 'haven.sock') };
    const withService = havenSandbox(env);
    const service = await startService(withService);
    try {
      const created = await withService.run(['task', 'create', 'usbsync', '--source', source, '--dest', `removable:${usb.label}/haven`, '--no-encryption', '--schedule', 'on-connect']);
      expect(created.code, created.stderr).to.equal(0);
      usb.mount(path.join(work, 'media', 'plugged'));
      let last: { trigger: string; status: string } | undefined;
      for (let i = 0; i < 40 && last?.status !== 'success'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        [last] = await withService.json<Array<{ trigger: string; status: string }>>(['history', 'usbsync', '--limit', '1']);
      }
      expect(last, JSON.stringify(last) + service.log()).to.deep.include({ trigger: 'on-connect', status: 'success' });
      expect(service.log()).to.contain(`drive ${usb.label} connected at ${path.join(work, 'media', 'plugged')}`);
      expect(existsSync(path.join(work, 'media', 'plugged', 'haven', 'config'))).to.equal(true);
    } finally {
      await service.stop();
      usb.unmount();
    }
  });

  it('fails a run cleanly when the drive is pulled out midway, writes nothing to the empty mount point, and completes after reconnecting', async () => {
    const usb = drive(`PULL${process.pid % 1000}`, 512);
    const at = path.join(work, 'media', 'pull');
    usb.mount(at);
    const big = path.join(haven.root, 'pull-src');
    mkdirSync(big);
    for (let i = 0; i < 8; i++) writeFileSync(path.join(big, `part-${i}.bin`), randomBytes(24 * 1024 * 1024));
    await haven.json(['task', 'create', 'pull', '--source', big, '--dest', `removable:${usb.label}/haven`, '--no-encryption']);
    const child = spawn(process.execPath, [HAVEN_BIN, 'run', 'pull', '--json', '--progress'], { env: haven.env, cwd: haven.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    for (let i = 0; i < 600 && !/backup \|/.test(stderr); i++) await new Promise((r) => setTimeout(r, 20));
    // Pulled out: the kernel detaches it at once (the lazy unmount a yanked drive gets).
    execFileSync('umount', ['-l', at]);
    usb.mountPoint = undefined;
    expect(await done, stderr).to.equal(1);
    const record = JSON.parse(stdout);
    expect(record.status).to.equal('failed');
    expect(record.reason).to.contain(`drive ${usb.label} was disconnected`);
    expect(readdirSync(at), 'the empty mount point on the system disk').to.deep.equal([]);

    usb.mount(path.join(work, 'media', 'pull-again'));
    const again = await haven.run(['run', 'pull', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect((await haven.run(['check', 'pull', '--read-data'])).code).to.equal(0);
    usb.unmount();
  });

  it('refuses a run that will not fit on the drive before writing, and fails a forced one cleanly', async () => {
    const small = drive(`SMALL${process.pid % 1000}`, 16);
    small.mount(path.join(work, 'mnt-small'));
    const big = path.join(haven.root, 'big');
    mkdirSync(big);
    writeFileSync(path.join(big, 'big.bin'), randomBytes(24 * 1024 * 1024));
    await haven.json(['task', 'create', 'big', '--source', big, '--dest', `removable:${small.label}`, '--no-encryption']);
    const refused = await haven.run(['run', 'big', '--json']);
    expect(refused.code).to.equal(4);
    expect(JSON.parse(refused.stdout).reason).to.contain('not enough space');
    const forced = await haven.run(['run', 'big', '--json', '--ignore-free-space']);
    expect(forced.code).to.equal(1);
    expect(JSON.parse(forced.stdout).reason).to.match(/full|ENOSPC|no space/i);
    // The repository stays valid; a prune gives back what the failed run left, and a run that fits succeeds.
    expect((await haven.run(['check', 'big', '--read-data'])).code).to.equal(0);
    const pruned = await haven.run(['forget', 'big', '--keep-last', '1', '--prune']);
    expect(pruned.code, pruned.stdout + pruned.stderr).to.equal(0);
    rmSync(path.join(big, 'big.bin'));
    writeFileSync(path.join(big, 'small.txt'), 'fits\n');
    const fits = await haven.run(['run', 'big', '--json']);
    expect(fits.code, fits.stdout + fits.stderr).to.equal(0);
    expect((await haven.run(['check', 'big', '--read-data'])).code).to.equal(0);
    small.unmount();
  });
});
