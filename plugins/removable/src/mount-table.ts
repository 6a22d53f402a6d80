/**
 * The file systems mounted now, from /proc/self/mountinfo: for each block device, where it is
 * mounted (its whole file system, not a bind mount of a folder of it) and as what type.
 */
import { promises as fs } from 'node:fs';

export interface DeviceMount {
  /** The block device, e.g. /dev/sdb1 or /dev/loop3. */
  device: string;
  mountPoint: string;
  fsType: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040…). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): DeviceMount[] {
  const mounts: DeviceMount[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    // id parent major:minor root mount-point options [optional fields…] - fstype source super-options
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const fields = left.split(' ');
    const [fsType, source] = right.split(' ');
    const root = unescape(fields[3] ?? '');
    const mountPoint = unescape(fields[4] ?? '');
    if (!source?.startsWith('/dev/') || root !== '/' || mountPoint === '/') continue;
    mounts.push({ device: unescape(source), mountPoint, fsType });
  }
  return mounts;
}

export async function deviceMounts(mountInfo = '/proc/self/mountinfo'): Promise<DeviceMount[]> {
  return parseMountInfo(await fs.readFile(mountInfo, 'utf8'));
}
