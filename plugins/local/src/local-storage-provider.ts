/**
 * The `local` storage provider: a folder on a local drive (`local:/srv/backup/haven`).
 */
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { StoreNotFoundError, type Availability, type BlobStore, type OpenOptions, type StorageProvider } from '@haven/plugin-api';
import { LocalBlobStore } from './local-blob-store.js';

async function nearestExisting(dir: string): Promise<string> {
  let current = dir;
  for (;;) {
    try {
      await fs.stat(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

export class LocalStorageProvider implements StorageProvider {
  readonly type = 'local';

  validateLocation(location: string): string {
    if (!location) throw new Error('a local destination needs a folder, e.g. local:/srv/backup/haven');
    if (location.includes('\0')) throw new Error('the folder name contains a NUL character');
    return path.resolve(location);
  }

  async adviseOn(location: string, sources: readonly string[]): Promise<string | undefined> {
    const destDevice = (await fs.stat(await nearestExisting(location))).dev;
    for (const source of sources) {
      const st = await fs.stat(source).catch(() => undefined);
      if (st && st.dev === destDevice) {
        return `the destination ${location} is on the same drive as ${source}: a failing or stolen drive would take both. A removable drive or online storage is recommended for backups.`;
      }
    }
    return undefined;
  }

  async checkAvailability(location: string): Promise<Availability> {
    const existing = await nearestExisting(location);
    const st = await fs.stat(existing).catch(() => undefined);
    if (!st?.isDirectory()) return { available: false, reason: `${existing} is not a folder` };
    try {
      await fs.access(existing, existing === location ? constants.R_OK | constants.X_OK : constants.W_OK | constants.X_OK);
    } catch {
      return { available: false, reason: `no permission to use ${existing}` };
    }
    return { available: true };
  }

  async open(location: string, options: OpenOptions): Promise<BlobStore> {
    if (options.create) await fs.mkdir(location, { recursive: true, mode: 0o700 });
    else if (!(await fs.stat(location).catch(() => undefined))?.isDirectory()) {
      // ENOENT: the location is not there (no repository yet, or its drive is unplugged).
      throw new StoreNotFoundError(`the folder ${location} does not exist`);
    }
    return new LocalBlobStore(location);
  }
}
