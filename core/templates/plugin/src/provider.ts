/**
 * The storage provider for `{{type}}:LOCATION` destinations: it checks a LOCATION, says whether
 * it can be reached now, and opens it as a BlobStore. As generated, LOCATION is a folder.
 */
import { mkdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { StoreNotFoundError, type Availability, type BlobStore, type OpenOptions, type StorageProvider } from '@haven/plugin-api';
import { FolderStore } from './folder-store.js';

export const provider: StorageProvider = {
  type: '{{type}}',

  validateLocation(location: string): string {
    // TODO: parse your medium's LOCATION (a URL, a bucket and prefix, ...). Throw an Error that
    // says what is wrong: Haven shows its message as bad input (exit 2).
    if (!path.isAbsolute(location)) throw new Error('give an absolute folder, e.g. {{type}}:/srv/backups');
    return path.resolve(location);
  },

  async checkAvailability(location: string): Promise<Availability> {
    // TODO: can LOCATION be reached now (mounted, online, signed in)? When it cannot, return
    // { available: false, reason }: the run is skipped (exit 4) with your reason, not failed.
    // As generated: a folder that does not exist yet is created by open(); a file is in the way.
    const found = await stat(location).catch(() => undefined);
    if (found && !found.isDirectory()) return { available: false, reason: `${location} is a file, not a folder` };
    return { available: true };
  },

  async open(location: string, options: OpenOptions): Promise<BlobStore> {
    // `create` is set on a task's first backup; two first backups may both set it, so creating
    // must be idempotent (mkdir -p is).
    if (options.create) await mkdir(location, { recursive: true });
    // Without `create`, a location that is not there is said so with ENOENT (Haven then knows
    // there is no repository yet, or that a drive is unplugged) — never made empty.
    else if (!(await stat(location).catch(() => undefined))?.isDirectory()) throw new StoreNotFoundError(`the folder ${location} does not exist`);
    return new FolderStore(location);
  },
};
