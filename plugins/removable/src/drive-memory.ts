/**
 * Which drive a destination was first used on, per user (in the plugin's state folder): its
 * UUID and the id of the marker Haven wrote on it. A drive that merely carries the same label
 * is then never taken for it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface DriveMarker {
  /** Random, written once on the drive's first use (`.haven-drive.json` at its root). */
  id: string;
  uuid?: string;
  label?: string;
  created: string;
}

export const MARKER_FILE = '.haven-drive.json';

export async function readMarker(mountPoint: string): Promise<DriveMarker | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(mountPoint, MARKER_FILE), 'utf8')) as DriveMarker;
  } catch {
    return undefined;
  }
}

/** The drive's marker, written (durably) when it has none. */
export async function ensureMarker(mountPoint: string, identity: { uuid?: string; label?: string }): Promise<DriveMarker> {
  const existing = await readMarker(mountPoint);
  if (existing) return existing;
  const marker: DriveMarker = { id: randomBytes(16).toString('hex'), ...identity, created: new Date().toISOString() };
  const file = path.join(mountPoint, MARKER_FILE);
  const handle = await fs.open(file, 'wx', 0o644).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') return undefined; // another run wrote it first
    throw err;
  });
  if (!handle) return (await readMarker(mountPoint)) ?? marker;
  try {
    await handle.writeFile(JSON.stringify(marker, null, 2));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return marker;
}

interface Remembered {
  uuid?: string;
  markerId: string;
}

export class DriveMemory {
  /** `folder` is asked for only when needed: reading the plugin's storagePath creates it. */
  constructor(private readonly folder: () => string | undefined) {}

  private get file(): string | undefined {
    const folder = this.folder();
    return folder ? path.join(folder, 'drives.json') : undefined;
  }

  private async all(): Promise<Record<string, Remembered>> {
    if (!this.file) return {};
    try {
      return JSON.parse(await fs.readFile(this.file, 'utf8')) as Record<string, Remembered>;
    } catch {
      return {};
    }
  }

  async get(name: string): Promise<Remembered | undefined> {
    return (await this.all())[name];
  }

  async remember(name: string, value: Remembered): Promise<void> {
    if (!this.file) return;
    const all = await this.all();
    all[name] = value;
    const temp = `${this.file}.tmp-${process.pid}`;
    await fs.writeFile(temp, JSON.stringify(all, null, 2), { mode: 0o600 });
    await fs.rename(temp, this.file);
  }
}
