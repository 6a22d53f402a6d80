/**
 * Real "removable drives" for tests: file system images attached to loop devices, mounted and
 * unmounted at changing mount points (root only). Everything attached or mounted here is undone
 * when the test process ends, even after a failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

export interface LoopDrive {
  readonly image: string;
  readonly device: string;
  readonly uuid: string;
  readonly label: string;
  /** Where it is mounted now (undefined: "unplugged"). */
  mountPoint?: string;
  mount(at: string): void;
  unmount(): void;
}

const mounted = new Set<string>();
const attached = new Set<string>();
process.on('exit', () => {
  for (const dir of mounted) {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
    } catch {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      } catch {
        // best effort at exit
      }
    }
  }
  for (const device of attached) {
    try {
      execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
    } catch {
      // best effort at exit
    }
  }
});

/** A new ext4 drive of `sizeMiB` with this label, attached to a loop device (not mounted). */
export function createLoopDrive(dir: string, label: string, sizeMiB = 64): LoopDrive {
  if (process.getuid?.() !== 0) throw new Error('loop drives need root (CI runs as root)');
  const image = path.join(dir, `${label}-${Math.random().toString(36).slice(2, 8)}.img`);
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-L', label, image]);
  const device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  attached.add(device);
  const uuid = execFileSync('blkid', ['-p', '-o', 'value', '-s', 'UUID', device], { encoding: 'utf8' }).trim();
  const drive: LoopDrive = {
    image,
    device,
    uuid,
    label,
    mount(at) {
      mkdirSync(at, { recursive: true });
      execFileSync('mount', [device, at]);
      mounted.add(at);
      drive.mountPoint = at;
    },
    unmount() {
      if (!drive.mountPoint) return;
      execFileSync('umount', [drive.mountPoint]);
      mounted.delete(drive.mountPoint);
      drive.mountPoint = undefined;
    },
  };
  return drive;
}

/** Unmounts and detaches a drive for good. */
export function destroyLoopDrive(drive: LoopDrive): void {
  drive.unmount();
  execFileSync('losetup', ['-d', drive.device]);
  attached.delete(drive.device);
}
