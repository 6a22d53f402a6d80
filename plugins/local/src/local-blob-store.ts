/**
 * A blob store in a local folder. Blob `a/b/c` is the file `ROOT/a/b/c`. Writes go to a
 * temporary file in the same folder, are fsynced, then renamed into place, so a reader sees a
 * whole blob or none, even after a crash.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BlobInfo, BlobStore, ByteRange } from '@haven/core/api';

const NAME_SEGMENT = /^[A-Za-z0-9._-]+$/;
const TEMP_SUFFIX = '.tmp-';

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

  async put(name: string, data: Uint8Array): Promise<void> {
    const target = this.pathOf(name);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}${TEMP_SUFFIX}${randomBytes(6).toString('hex')}`;
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
    await fs.rename(temp, target);
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

  async list(prefix: string): Promise<BlobInfo[]> {
    // Walk only the folder the prefix names, not the whole store.
    const slash = prefix.lastIndexOf('/');
    const baseName = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: BlobInfo[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(path.join(this.root, relDir), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const entry of entries) {
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (rel.startsWith(prefix) || prefix.startsWith(`${rel}/`)) await walk(rel);
        } else if (entry.isFile() && rel.startsWith(prefix) && !entry.name.includes(TEMP_SUFFIX)) {
          const st = await fs.stat(path.join(this.root, rel));
          out.push({ name: rel, size: st.size });
        }
      }
    };
    await walk(baseName);
    return out;
  }

  async delete(name: string): Promise<void> {
    await fs.rm(this.pathOf(name), { force: true });
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
