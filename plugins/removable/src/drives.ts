/**
 * The drives connected now: mounted block devices with their identity and free space. A drive
 * is named by its UUID or its label, never by where it happens to be mounted.
 */
import { promises as fs } from 'node:fs';
import { deviceMounts } from './mount-table.js';
import { identify } from './drive-identity.js';

export interface ConnectedDrive {
  device: string;
  mountPoint: string;
  fsType: string;
  uuid?: string;
  label?: string;
  /** Bytes free for this user, when the file system answers. */
  freeBytes?: number;
}

export async function connectedDrives(): Promise<ConnectedDrive[]> {
  const mounts = await deviceMounts();
  const identities = await identify([...new Set(mounts.map((m) => m.device))]);
  return Promise.all(
    mounts.map(async (m) => {
      const id = identities.get(m.device) ?? {};
      const st = await fs.statfs(m.mountPoint).catch(() => undefined);
      return {
        ...m,
        ...(id.type && m.fsType.startsWith('fuse') ? { fsType: id.type } : {}),
        ...(id.uuid ? { uuid: id.uuid } : {}),
        ...(id.label ? { label: id.label } : {}),
        ...(st ? { freeBytes: st.bavail * st.bsize } : {}),
      };
    }),
  );
}

/** Whether `drive` is the one `name` (a UUID, any case, or a label, exactly) names. */
export function isNamed(drive: ConnectedDrive, name: string): boolean {
  return (drive.uuid !== undefined && drive.uuid.toLowerCase() === name.toLowerCase()) || drive.label === name;
}
