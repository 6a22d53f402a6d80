/**
 * The store a case sees: the store under test with every name moved under the case's prefix,
 * so cases use plain names, never touch what else the location holds (a repository), and a
 * list('') shows only their own blobs. It adds nothing else: ranges, signals and the optional
 * methods (putIfAbsent, putStream, getStream, freeSpace) pass through unchanged.
 */
import type { BlobInfo, BlobStore, ByteRange, StoreCallOptions } from '../storage.js';
import { forEachListed, isAsyncIterable } from '../list-helpers.js';
import type { CaseStore } from './types.js';
import { fail } from './assertions.js';

export class ScopedBlobStore implements CaseStore {
  readonly description: string;
  putIfAbsent?: (name: string, data: Uint8Array, options?: StoreCallOptions) => Promise<boolean>;
  putStream?: (name: string, data: AsyncIterable<Uint8Array>, size: number, options?: StoreCallOptions) => Promise<void>;
  getStream?: (name: string, range?: ByteRange, options?: StoreCallOptions) => Promise<AsyncIterable<Uint8Array>>;
  freeSpace?: (options?: StoreCallOptions) => Promise<number | undefined>;

  constructor(
    private readonly inner: BlobStore,
    private readonly prefix: string,
  ) {
    this.description = `${inner.description} (under ${prefix})`;
    const putIfAbsent = inner.putIfAbsent?.bind(inner);
    if (putIfAbsent) this.putIfAbsent = (name, data, options) => putIfAbsent(prefix + name, data, options);
    const putStream = inner.putStream?.bind(inner);
    if (putStream) this.putStream = (name, data, size, options) => putStream(prefix + name, data, size, options);
    const getStream = inner.getStream?.bind(inner);
    if (getStream) this.getStream = (name, range, options) => getStream(prefix + name, range, options);
    const freeSpace = inner.freeSpace?.bind(inner);
    if (freeSpace) this.freeSpace = (options) => freeSpace(options);
  }

  /** A name the store returned, without the prefix; a name outside it is a store bug. */
  private unscoped(info: BlobInfo, call: string): BlobInfo {
    if (typeof info?.name !== 'string' || !info.name.startsWith(this.prefix)) {
      fail(`${call} returned the name ${JSON.stringify(info?.name)}, which is not below the prefix asked for ("${this.prefix}"): names must be the full blob names`);
    }
    if (typeof info.size !== 'number') fail(`${call} returned ${JSON.stringify(info)}: size must be a number`);
    return { name: info.name.slice(this.prefix.length), size: info.size };
  }

  put(name: string, data: Uint8Array, options?: StoreCallOptions): Promise<void> {
    return this.inner.put(this.prefix + name, data, options);
  }

  get(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<Buffer> {
    return this.inner.get(this.prefix + name, range, options);
  }

  async list(prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]> {
    const answer = this.inner.list(this.prefix + prefix, options);
    if (!isAsyncIterable(answer) && typeof (answer as { then?: unknown })?.then !== 'function') {
      fail(`list("${this.prefix + prefix}") returned ${typeof answer}, expected a promise of an array or an async iterable`);
    }
    let found: BlobInfo[] = [];
    if (isAsyncIterable<BlobInfo>(answer)) await forEachListed(answer, (info) => found.push(info));
    else {
      const resolved: unknown = await answer;
      if (!Array.isArray(resolved)) fail(`list("${this.prefix + prefix}") resolved to ${resolved === null ? 'null' : typeof resolved}, expected an array`);
      found = resolved;
    }
    return found.map((info) => this.unscoped(info, `list("${this.prefix + prefix}")`));
  }

  delete(name: string, options?: StoreCallOptions): Promise<void> {
    return this.inner.delete(this.prefix + name, options);
  }

  async stat(name: string, options?: StoreCallOptions): Promise<BlobInfo | null> {
    const info = await this.inner.stat(this.prefix + name, options);
    // null (or a wrong non-object) goes to the case as it is, which says what it expected.
    if (info === null || typeof info !== 'object') return info;
    return this.unscoped(info, `stat("${this.prefix + name}")`);
  }

  /** The runner owns the store under test; a case has nothing to close. */
  async close(): Promise<void> {}
}
