/**
 * A blob store in a local folder. Blob `a/b/c` is the file `ROOT/a/b/c`. Writes go to a
 * temporary file in the same folder, are fsynced, then renamed into place (or, for
 * putIfAbsent, hard-linked: `link()` fails when the name exists, which makes the create
 * exclusive), so a reader sees a whole blob or none, even after a crash.
 *
 * Files are 0600 and folders 0700 whatever the umask: a repository is nobody else's business.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createReadStream } from 'node:fs';
import { StoreNotFoundError, TransientStoreError, type BlobInfo, type BlobStore, type ByteRange, type StoreCallOptions, type TemporarySweep } from '@haven/plugin-api';

const NAME_SEGMENT = /^[A-Za-z0-9._-]+$/;
const TEMP_MARK = '.tmp-';
/**
 * Temporaries are named `<blob>.tmp-<host>-<pid>-<random>`, so a later process can tell one
 * of a dead writer on this host (removable at once) from one of a live or remote writer.
 */
const TEMP_NAME = /\.tmp-([0-9a-f]{8})-(\d+)-[0-9a-f]+$/;
/** A temporary of another host (or of an older Haven without owner in the name) is stale after this. */
const FOREIGN_TEMP_STALE_MS = 24 * 60 * 60 * 1000;
/** A temporary of this host whose pid looks alive but that nobody wrote to for this long. */
const OWN_TEMP_STALE_MS = 6 * 60 * 60 * 1000;
/** What link() fails with where a file system has no hard links (vfat, exfat: EPERM). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The temporary a writer with this pid uses for `target` (exported for tests of the sweep). */
export function temporaryPath(target: string, pid = process.pid): string {
  return `${target}${TEMP_MARK}${HOST_TAG}-${pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Whether a temporary file was left by a writer that can no longer finish it: its process is
 * gone, or (a pid reused after a reboot) it has not been written to for hours — a blob is
 * written in seconds.
 */
function isAbandoned(name: string, mtimeMs: number, now: number): boolean {
  const m = TEMP_NAME.exec(name);
  if (m && m[1] === HOST_TAG) return !isProcessAlive(Number(m[2])) || now - mtimeMs > OWN_TEMP_STALE_MS;
  return now - mtimeMs > FOREIGN_TEMP_STALE_MS;
}

/**
 * fsync of a folder makes a rename, link or unlink in it durable: without it a power cut can
 * lose a blob whose content was synced. File systems that cannot sync a folder (some FUSE
 * ones) say so with EINVAL or ENOTSUP; there is nothing more to do on them.
 */
async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EBADF' && code !== 'ENOSYS') throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export class LocalBlobStore implements BlobStore {
  readonly description: string;

  /** `description` names the store in messages (another provider keeping its blobs here gives its own). */
  constructor(
    private readonly root: string,
    description = `local:${root}`,
  ) {
    this.description = description;
  }

  private pathOf(name: string): string {
    const segments = name.split('/');
    if (segments.some((s) => !NAME_SEGMENT.test(s) || s === '.' || s === '..')) {
      throw new Error(`invalid blob name "${name}"`);
    }
    return path.join(this.root, ...segments);
  }

  /**
   * Writes `data` (bytes, or a stream of chunks that must add up to `stream.size`) to a fresh,
   * fsynced temporary next to `target`; returns its path. A stream of the wrong size never
   * gets the blob's name.
   */
  private async writeTemporary(target: string, data: Uint8Array | AsyncIterable<Uint8Array>, stream?: { size: number; signal?: AbortSignal }): Promise<string> {
    await this.requireRoot();
    const folder = path.dirname(target);
    const created = await fs.mkdir(folder, { recursive: true, mode: 0o700 });
    // New folders are entries of their parents: make those durable too (the blob's own folder
    // is synced after the rename).
    if (created) for (let dir = path.dirname(folder); ; dir = path.dirname(dir)) {
      await syncFolder(dir);
      if (dir === path.dirname(created) || dir === path.dirname(dir)) break;
    }
    const temp = temporaryPath(target);
    const handle = await fs.open(temp, 'wx', 0o600);
    try {
      if (data instanceof Uint8Array) await handle.writeFile(data);
      else {
        let written = 0;
        for await (const chunk of data) {
          stream?.signal?.throwIfAborted();
          await handle.write(chunk);
          written += chunk.length;
        }
        if (stream && written !== stream.size) throw new Error(`blob "${path.basename(target)}": the stream gave ${written} bytes, not the ${stream.size} announced`);
      }
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    return temp;
  }

  put(name: string, data: Uint8Array): Promise<void> {
    return this.putFrom(name, data);
  }

  /** A large blob written chunk by chunk: never one buffer of its whole size. */
  putStream(name: string, data: AsyncIterable<Uint8Array>, size: number, options?: StoreCallOptions): Promise<void> {
    return this.putFrom(name, data, { size, signal: options?.signal });
  }

  private async putFrom(name: string, data: Uint8Array | AsyncIterable<Uint8Array>, stream?: { size: number; signal?: AbortSignal }): Promise<void> {
    const target = this.pathOf(name);
    const temp = await this.writeTemporary(target, data, stream);
    try {
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    await syncFolder(path.dirname(target));
  }

  async putIfAbsent(name: string, data: Uint8Array): Promise<boolean> {
    const target = this.pathOf(name);
    const temp = await this.writeTemporary(target, data);
    try {
      await fs.link(temp, target);
      await syncFolder(path.dirname(target));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code && NO_HARD_LINKS.has(code)) return this.createExclusive(target, data);
      throw err;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /**
   * For file systems without hard links (FAT, exFAT on removable drives): an O_EXCL create is
   * still exclusive, but the blob is visible before it is whole, so a reader racing the
   * creation may see it short (and fail, never accept it: the config is MAC'd).
   */
  private async createExclusive(target: string, data: Uint8Array): Promise<boolean> {
    let handle;
    try {
      handle = await fs.open(target, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
      await syncFolder(path.dirname(target));
      return true;
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.rm(target, { force: true });
      throw err;
    }
  }

  /**
   * The destination folder is gone (a drive unplugged, a share unmounted, the folder moved):
   * then nothing in it is "not found", the store is unreachable, and a run must not take its
   * packs for lost nor write into whatever is now at that path.
   */
  private async requireRoot(): Promise<void> {
    const st = await fs.stat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) throw new TransientStoreError(`the destination folder ${this.root} is not there (drive unplugged or folder moved?)`);
  }

  /** Opens a blob for reading: a missing file is not-found only while the folder is there. */
  private async openBlob(name: string): Promise<fs.FileHandle> {
    try {
      return await fs.open(this.pathOf(name), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.requireRoot();
      throw new StoreNotFoundError(`blob "${name}" does not exist in ${this.root}`, { cause: err });
    }
  }

  /** The bytes a range covers in a blob of `size` bytes (the contract's range rules). */
  private static clip(name: string, size: number, range: ByteRange | undefined): { start: number; end: number } {
    if (!range) return { start: 0, end: size };
    if (range.offset > size) throw new Error(`a range of blob "${name}" starts at ${range.offset}, past its end (${size} bytes)`);
    return { start: range.offset, end: Math.min(size, range.offset + range.length) };
  }

  async get(name: string, range?: ByteRange): Promise<Buffer> {
    const handle = await this.openBlob(name);
    try {
      const { start, end } = LocalBlobStore.clip(name, (await handle.stat()).size, range);
      const buffer = Buffer.allocUnsafe(end - start);
      for (let done = 0; done < buffer.length; ) {
        const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
        if (bytesRead === 0) throw new Error(`blob "${name}" shrank while it was read`);
        done += bytesRead;
      }
      return buffer;
    } finally {
      await handle.close();
    }
  }

  async getStream(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<AsyncIterable<Uint8Array>> {
    const handle = await this.openBlob(name);
    try {
      const { start, end } = LocalBlobStore.clip(name, (await handle.stat()).size, range);
      if (end === start) {
        await handle.close();
        return (async function* () {})();
      }
      // The stream owns the handle from here and closes it when done or destroyed.
      return createReadStream('', { fd: handle, start, end: end - 1, signal: options?.signal, highWaterMark: 1024 * 1024 });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Bytes this user can still write on the destination's file system. */
  async freeSpace(): Promise<number> {
    await this.requireRoot();
    const st = await fs.statfs(this.root);
    return st.bavail * st.bsize;
  }

  /** Every file below `relDir` (temporaries included), one folder at a time, descending where `descend` says. */
  private async *walk(relDir: string, descend: (rel: string) => boolean): AsyncGenerator<{ rel: string; name: string }> {
    let entries;
    try {
      entries = await fs.readdir(path.join(this.root, relDir), { withFileTypes: true });
    } catch (err) {
      // Nothing there, or a blob where the prefix wants a folder (list("a/b/") with a blob "a/b").
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (descend(rel)) yield* this.walk(rel, descend);
      } else if (entry.isFile()) {
        yield { rel, name: entry.name };
      }
    }
  }

  /**
   * Pages through the folder the prefix names (an async iterable, API 1.1): a store of millions
   * of blobs is never one array here. A missing destination folder is an error, not an empty
   * listing — before and after, since a drive can go while it is listed.
   */
  async *list(prefix: string): AsyncGenerator<BlobInfo> {
    await this.requireRoot();
    const slash = prefix.lastIndexOf('/');
    const baseName = slash >= 0 ? prefix.slice(0, slash) : '';
    for await (const { rel, name } of this.walk(baseName, (r) => r.startsWith(prefix) || prefix.startsWith(`${r}/`))) {
      if (!rel.startsWith(prefix) || name.includes(TEMP_MARK)) continue;
      const st = await fs.stat(path.join(this.root, rel)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // else deleted meanwhile
      });
      if (st) yield { name: rel, size: st.size };
    }
    await this.requireRoot();
  }

  async sweepTemporaries(options: { dryRun: boolean }): Promise<TemporarySweep> {
    const found: TemporarySweep = { count: 0, bytes: 0 };
    const now = Date.now();
    for await (const { rel, name } of this.walk('', () => true)) {
      if (!name.includes(TEMP_MARK)) continue;
      const file = path.join(this.root, rel);
      const st = await fs.stat(file).catch(() => undefined);
      if (!st || !isAbandoned(name, st.mtimeMs, now)) continue;
      if (!options.dryRun) await fs.rm(file, { force: true });
      found.count++;
      found.bytes += st.size;
    }
    return found;
  }

  async delete(name: string): Promise<void> {
    const file = this.pathOf(name);
    await this.requireRoot();
    await fs.rm(file, { force: true });
    await syncFolder(path.dirname(file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // the folder itself is gone: nothing to sync
    });
  }

  async stat(name: string): Promise<BlobInfo | null> {
    try {
      const st = await fs.stat(this.pathOf(name));
      return { name, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.requireRoot();
      return null;
    }
  }

  async close(): Promise<void> {}
}
