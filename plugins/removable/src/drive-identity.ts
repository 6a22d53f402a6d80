/**
 * Who a drive is: its file system's UUID and label. Read from udev's /dev/disk/by-uuid and
 * by-label links where udev runs (any user may read them), else from the superblock with
 * `blkid -p` (which needs read access to the device: root, or the `disk` group).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface DriveIdentity {
  uuid?: string;
  label?: string;
  /** The file system type the superblock names (ext4, vfat, exfat…), when known. */
  type?: string;
}

/** device path → the names of the links to it in a /dev/disk/by-* folder. */
async function linksByDevice(folder: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    const target = await fs.realpath(path.join(folder, name)).catch(() => undefined);
    // udev escapes characters in labels as \xHH.
    if (target) found.set(target, name.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
  }
  return found;
}

/** blkid lives in /sbin, which an ordinary user's PATH (and a worker's) does not hold. */
const BLKID = ['/usr/sbin/blkid', '/sbin/blkid', 'blkid'];

function blkid(device: string, candidates = BLKID): Promise<DriveIdentity> {
  return new Promise((resolve) => {
    execFile(candidates[0], ['-p', '-o', 'export', device], { timeout: 10_000 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT' && candidates.length > 1) return resolve(blkid(device, candidates.slice(1)));
      if (err) return resolve({});
      const values = Object.fromEntries(stdout.split('\n').map((l) => l.split('=')).filter((kv) => kv.length >= 2).map(([k, ...v]) => [k, v.join('=')]));
      resolve({ uuid: values.UUID, label: values.LABEL, type: values.TYPE });
    });
  });
}

/** The identity of each device (one lookup of udev's links for all). */
export async function identify(devices: readonly string[]): Promise<Map<string, DriveIdentity>> {
  const [byUuid, byLabel] = await Promise.all([linksByDevice('/dev/disk/by-uuid'), linksByDevice('/dev/disk/by-label')]);
  const out = new Map<string, DriveIdentity>();
  for (const device of devices) {
    const real = await fs.realpath(device).catch(() => device);
    const uuid = byUuid.get(real);
    out.set(device, uuid ? { uuid, label: byLabel.get(real) } : await blkid(device));
  }
  return out;
}
