/**
 * The BlobStore behind `{{type}}:` destinations. As generated it keeps blob `a/b/c` as the file
 * `LOCATION/a/b/c`: a store that keeps the whole contract (Haven's plugin guide, "The BlobStore
 * contract") and passes the conformance kit, to turn into one for your medium. Each TODO marks
 * a call to replace; the comment beside it names the rule the replacement must keep.
 *
 * Errors: reject with an Error whose `code` says what went wrong (the classes of
 * @haven/plugin-api set it). Haven retries transient failures itself: write no retry loop.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  PermanentStoreError,
  StoreCancelledError,
  StoreNotFoundError,
  TransientStoreError,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type StoreCallOptions,
  type StoreCapabilities,
} from '@haven/plugin-api';

/** Blob names are `/`-separated segments of these characters. */
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** `~` is in no blob name, so a temporary can never be taken for a blob. */
const TEMP_MARK = '~tmp-';

function hasCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** A call whose signal aborted (Ctrl-C, the service stopping) stops before it changes anything. */
function throwIfAborted(options?: StoreCallOptions): void {
  if (options?.signal?.aborted) throw new StoreCancelledError();
}

/** Makes a rename or link in `dir` survive a power cut (file systems that cannot sync a folder say so). */
async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    if (!hasCode(err, 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EBADF')) throw err;
  } finally {
    await handle.close();
  }
}

/** Reads exactly the range, or only the bytes that exist when it runs past the end: never padding. */
async function readRange(file: string, { offset, length }: ByteRange): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (offset > size) throw new PermanentStoreError(`range at ${offset} starts past the end of the ${size}-byte blob`);
    const buffer = Buffer.alloc(Math.min(length, size - offset));
    let done = 0;
    while (done < buffer.length) {
      const { bytesRead } = await handle.read(buffer, done, buffer.length - done, offset + done);
      if (bytesRead === 0) break; // shortened meanwhile: return what exists
      done += bytesRead;
    }
    return buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
}

export class FolderStore implements BlobStore {
  readonly description: string;
  // TODO: what your medium can and cannot do (the guide's "Capabilities"); a folder does it all.
  readonly capabilities: StoreCapabilities = { ranges: true, listAfterWrite: 'strong' };

  constructor(private readonly root: string) {
    this.description = `{{type}}:${root}`; // shown to users: never put credentials in it
  }

  /**
   * Unreachable is not "not found": when the folder itself is gone (a drive unplugged, a share
   * unmounted) every call fails instead of answering "missing" or "empty", or Haven would take
   * the repository's data for lost.
   * TODO: how your medium says it cannot be reached (a refused connection, a timeout): reject
   * with TransientStoreError, never with StoreNotFoundError.
   */
  private async requireReachable(): Promise<void> {
    const st = await fs.stat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) throw new TransientStoreError(`${this.description} cannot be reached: the folder ${this.root} is not there`);
  }

  private fileOf(name: string): string {
    const segments = name.split('/');
    if (segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) throw new PermanentStoreError(`invalid blob name "${name}"`);
    return path.join(this.root, ...segments);
  }

  /** Writes the whole blob to a synced temporary beside its place; readers never see it. */
  private async writeTemporary(file: string, data: Uint8Array): Promise<string> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync(); // on disk before it gets its name
    } catch (err) {
      await handle.close();
      await fs.rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    return temp;
  }

  async put(name: string, data: Uint8Array, options?: StoreCallOptions): Promise<void> {
    throwIfAborted(options);
    const file = this.fileOf(name);
    await this.requireReachable(); // never recreate a vanished location by writing into it
    // TODO: your medium's write. Atomic: write elsewhere, then commit it under the name in one
    // step (here a rename), so a reader sees the whole blob or none, even after a crash.
    const temp = await this.writeTemporary(file, data);
    try {
      throwIfAborted(options); // stopping here leaves the old blob (or none): never half of one
      await fs.rename(temp, file);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    await syncFolder(path.dirname(file)); // durable once put resolves
  }

  async putIfAbsent(name: string, data: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    throwIfAborted(options);
    const file = this.fileOf(name);
    await this.requireReachable();
    // TODO: an exclusive create on your medium (a conditional put such as If-None-Match: *).
    // Delete this method if it has none: Haven then falls back to a weaker protocol.
    const temp = await this.writeTemporary(file, data);
    try {
      throwIfAborted(options);
      await fs.link(temp, file); // EEXIST when the name is taken: of two racers exactly one wins
      await syncFolder(path.dirname(file));
      return true;
    } catch (err) {
      if (hasCode(err, 'EEXIST')) return false;
      throw err;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async get(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<Buffer> {
    throwIfAborted(options);
    const file = this.fileOf(name);
    try {
      // TODO: your medium's read; a ranged read when it has one (else set capabilities.ranges: false).
      return range ? await readRange(file, range) : await fs.readFile(file);
    } catch (err) {
      // A missing blob must reject with code ENOENT: Haven reads "missing" from it, never retries.
      if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err; // Haven classifies Node's own codes (EACCES: permanent, ENOSPC: quota)
      await this.requireReachable();
      throw new StoreNotFoundError(`blob "${name}" does not exist in ${this.description}`, { cause: err });
    }
  }

  /**
   * Bytes that can still be written here, so Haven can refuse a run that will not fit before it
   * starts. TODO: your medium's free space or remaining quota; delete the method if it cannot
   * tell (Haven then does not check).
   */
  async freeSpace(options?: StoreCallOptions): Promise<number | undefined> {
    throwIfAborted(options);
    await this.requireReachable();
    const st = await fs.statfs(this.root);
    return st.bavail * st.bsize;
  }
  // putStream and getStream (for blobs too large for one buffer) are optional: Haven joins
  // the chunks and uses put and get when a store has neither.

  async list(prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]> {
    throwIfAborted(options);
    // TODO: your medium's listing: every whole blob whose name starts with `prefix` (a string
    // prefix: "a" matches "ab"), with its size; never a temporary or a blob still being written.
    await this.requireReachable(); // an empty listing would mean "no repository here"
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1); // walk only what the prefix names
    let entries;
    try {
      entries = await fs.readdir(path.join(this.root, folder), { recursive: true, withFileTypes: true });
    } catch (err) {
      if (hasCode(err, 'ENOENT', 'ENOTDIR')) return [];
      throw err;
    }
    const blobs: BlobInfo[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.includes(TEMP_MARK)) continue;
      const name = path.relative(this.root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
      if (!name.startsWith(prefix)) continue;
      const info = await this.stat(name);
      if (info) blobs.push(info); // deleted since the listing: leave it out
    }
    return blobs;
  }

  async delete(name: string, options?: StoreCallOptions): Promise<void> {
    throwIfAborted(options);
    // TODO: your medium's delete. Deleting a blob that does not exist is not an error.
    await this.requireReachable();
    await fs.rm(this.fileOf(name), { force: true });
  }

  async stat(name: string, options?: StoreCallOptions): Promise<BlobInfo | null> {
    throwIfAborted(options);
    try {
      // TODO: your medium's metadata call: the size, or null when the blob does not exist.
      const st = await fs.stat(this.fileOf(name));
      return st.isFile() ? { name, size: st.size } : null;
    } catch (err) {
      if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err;
      await this.requireReachable();
      return null;
    }
  }

  async close(): Promise<void> {
    // TODO: release connections and handles your medium holds.
  }
}
