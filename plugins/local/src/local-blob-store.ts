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
import type { BlobInfo, BlobStore, ByteRange, TemporarySweep } from '@haven/plugin-api';

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

  constructor(private readonly root: string) {
    this.description = `local:${root}`;
  }

  private pathOf(name: string): string {
    const segments = name.split('/');
    if (segments.some((s) => !NAME_SEGMENT.test(s) || s === '.' || s === '..')) {
      throw new Error(`invalid blob name "${name}"`);
    }
    return path.join(this.root, ...segments);
  }

  /** Writes `data` to a fresh, fsynced temporary next to `target`; returns its path. */
  private async writeTemporary(target: string, data: Uint8Array): Promise<string> {
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
      await handle.writeFile(data);
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    return temp;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    const target = this.pathOf(name);
    const temp = await this.writeTemporary(target, data);
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

  async get(name: string, range?: ByteRange): Promise<Buffer> {
    const file = this.pathOf(name);
    if (!range) return fs.readFile(file);
    const handle = await fs.open(file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(range.length);
      let done = 0;
      while (done < range.length) {
        const { bytesRead } = await handle.read(buffer, done, range.length - done, range.offset + done);
        if (bytesRead === 0) throw new Error(`blob "${name}" is shorter than the range asked for`);
        done += bytesRead;
      }
      return buffer;
    } finally {
      await handle.close();
    }
  }

  /** Visits every file below `relDir` (temporaries included), descending where `descend` says. */
  private async walk(relDir: string, descend: (rel: string) => boolean, visit: (rel: string, name: string) => Promise<void>): Promise<void> {
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
        if (descend(rel)) await this.walk(rel, descend, visit);
      } else if (entry.isFile()) {
        await visit(rel, entry.name);
      }
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    // Walk only the folder the prefix names, not the whole store.
    const slash = prefix.lastIndexOf('/');
    const baseName = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: BlobInfo[] = [];
    await this.walk(
      baseName,
      (rel) => rel.startsWith(prefix) || prefix.startsWith(`${rel}/`),
      async (rel, name) => {
        if (!rel.startsWith(prefix) || name.includes(TEMP_MARK)) return;
        try {
          const st = await fs.stat(path.join(this.root, rel));
          out.push({ name: rel, size: st.size });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted meanwhile
        }
      },
    );
    return out;
  }

  async sweepTemporaries(options: { dryRun: boolean }): Promise<TemporarySweep> {
    const found: TemporarySweep = { count: 0, bytes: 0 };
    const now = Date.now();
    await this.walk('', () => true, async (rel, name) => {
      if (!name.includes(TEMP_MARK)) return;
      const file = path.join(this.root, rel);
      const st = await fs.stat(file).catch(() => undefined);
      if (!st || !isAbandoned(name, st.mtimeMs, now)) return;
      if (!options.dryRun) await fs.rm(file, { force: true });
      found.count++;
      found.bytes += st.size;
    });
    return found;
  }

  async delete(name: string): Promise<void> {
    const file = this.pathOf(name);
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
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async close(): Promise<void> {}
}
