/**
 * A complete BlobStore kept in a Map, for tests: API 1.1 with putIfAbsent, codes on every
 * failure and signals honoured. It passes the conformance kit (test/storage/conformance.test.ts),
 * so tests that use it exercise the contract, not a lenient stand-in.
 */
import { PermanentStoreError, StoreCancelledError, StoreNotFoundError } from '@haven/plugin-api';
import type { BlobInfo, BlobStore, ByteRange, StoreCallOptions } from '@haven/plugin-api';

const NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export class MemoryBlobStore implements BlobStore {
  readonly description = 'memory:';
  /** The blobs; tests may look inside. Values are private copies, never the caller's buffers. */
  readonly blobs = new Map<string, Buffer>();

  /** Every call starts on a later tick, as a real store's would, and checks its signal there. */
  private async begin(name: string | undefined, options: StoreCallOptions | undefined): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (options?.signal?.aborted) throw new StoreCancelledError();
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

  async close(): Promise<void> {}
}
