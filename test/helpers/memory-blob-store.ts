/**
 * A complete BlobStore kept in a Map, for tests: API 1.1 with every optional method
 * (putIfAbsent, putStream, getStream, freeSpace), codes on every failure, signals honoured, and
 * a switch that makes it unreachable as a server that is down would be. It passes the conformance kit (test/storage/conformance.test.ts),
 * so tests that use it exercise the contract, not a lenient stand-in.
 */
import { PermanentStoreError, StoreCancelledError, StoreNotFoundError, TransientStoreError } from '@haven/plugin-api';
import type { BlobInfo, BlobStore, ByteRange, StoreCallOptions } from '@haven/plugin-api';

const NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export class MemoryBlobStore implements BlobStore {
  readonly description = 'memory:';
  /** The blobs; tests may look inside. Values are private copies, never the caller's buffers. */
  readonly blobs = new Map<string, Buffer>();
  /** Bytes it holds at most; freeSpace reports what is left (no limit by default). */
  capacity = Number.MAX_SAFE_INTEGER;
  /** While set, every call fails as a store that cannot be reached does: never as "not found". */
  unreachable = false;

  /** Every call starts on a later tick, as a real store's would, and checks its signal there. */
  private async begin(name: string | undefined, options: StoreCallOptions | undefined): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (options?.signal?.aborted) throw new StoreCancelledError();
    if (this.unreachable) throw new TransientStoreError('the memory store cannot be reached (switched off by the test)');
    if (name !== undefined && (!NAME.test(name) || name.split('/').some((s) => s === '.' || s === '..'))) {
      throw new PermanentStoreError(`invalid blob name "${name}"`);
    }
  }

  async put(name: string, data: Uint8Array, options?: StoreCallOptions): Promise<void> {
    await this.begin(name, options);
    this.blobs.set(name, Buffer.from(data));
  }

  async putIfAbsent(name: string, data: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    await this.begin(name, options);
    if (this.blobs.has(name)) return false;
    this.blobs.set(name, Buffer.from(data));
    return true;
  }

  async get(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<Buffer> {
    await this.begin(name, options);
    const blob = this.blobs.get(name);
    if (!blob) throw new StoreNotFoundError(`no blob "${name}"`);
    if (!range) return Buffer.from(blob);
    if (range.offset + range.length > blob.length) {
      throw new PermanentStoreError(`blob "${name}" has ${blob.length} bytes, fewer than the range ${range.offset}+${range.length} asks for`);
    }
    return Buffer.from(blob.subarray(range.offset, range.offset + range.length));
  }

  async list(prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]> {
    await this.begin(undefined, options);
    return [...this.blobs].filter(([name]) => name.startsWith(prefix)).map(([name, blob]) => ({ name, size: blob.length }));
  }

  async delete(name: string, options?: StoreCallOptions): Promise<void> {
    await this.begin(name, options);
    this.blobs.delete(name);
  }

  async stat(name: string, options?: StoreCallOptions): Promise<BlobInfo | null> {
    await this.begin(name, options);
    const blob = this.blobs.get(name);
    return blob ? { name, size: blob.length } : null;
  }

  async putStream(name: string, data: AsyncIterable<Uint8Array>, size: number, options?: StoreCallOptions): Promise<void> {
    await this.begin(name, options);
    const parts: Buffer[] = [];
    for await (const chunk of data) {
      if (options?.signal?.aborted) throw new StoreCancelledError();
      parts.push(Buffer.from(chunk));
    }
    const blob = Buffer.concat(parts);
    if (blob.length !== size) throw new PermanentStoreError(`blob "${name}": the stream gave ${blob.length} bytes, not the ${size} announced`);
    this.blobs.set(name, blob);
  }

  async getStream(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<AsyncIterable<Uint8Array>> {
    const data = await this.get(name, range, options);
    return (async function* () {
      for (let at = 0; at < data.length; at += 65536) yield data.subarray(at, at + 65536);
    })();
  }

  async freeSpace(options?: StoreCallOptions): Promise<number> {
    await this.begin(undefined, options);
    let used = 0;
    for (const blob of this.blobs.values()) used += blob.length;
    return Math.max(0, this.capacity - used);
  }

  async close(): Promise<void> {}
}
