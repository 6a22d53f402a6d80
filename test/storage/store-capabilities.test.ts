/**
 * Declared capabilities are honoured: a store that allows 2 calls at once never sees a third,
 * a store without ranges never receives one (the core reads whole blobs and slices them), and
 * a store whose listing lags still backs up, restores byte-identical and checks clean. A store
 * without atomic replace never has a lock overwritten; a paging listing that fails part-way is
 * retried without listing anything twice; streams reach stores that cannot take them as buffers.
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { LocalBlobStore } from '#plugin-local/local-blob-store.js';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BlobInfo, ByteRange, StoreCallOptions, StoreCapabilities } from '@haven/plugin-api';
import { backup, check, initRepository, openRepository, restore } from '#core/engine/index.js';
import { RetryingBlobStore } from '#core/storage/retrying-store.js';
import { acquireLock, listLocks, refreshLock } from '#core/repository/locks.js';
import type { LockRecord } from '#core/repository/locks.js';
import { TransientStoreError } from '@haven/plugin-api';
import { MemoryBlobStore } from '../helpers/memory-blob-store.js';
import { META, compareTrees, tmp } from '../engine/engine-helpers.js';

/** The in-memory store, declaring limits and counting what reaches it. */
class LimitedStore extends MemoryBlobStore {
  readonly capabilities: StoreCapabilities = { maxConcurrency: 2, ranges: false, listAfterWrite: 'eventual' };
  inFlight = 0;
  maxInFlight = 0;
  rangedGets = 0;

  private async counted<T>(fn: () => Promise<T>): Promise<T> {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 1)); // long enough for others to pile up
      return await fn();
    } finally {
      this.inFlight--;
    }
  }

  override put(name: string, data: Uint8Array, o?: StoreCallOptions): Promise<void> {
    return this.counted(() => super.put(name, data, o));
  }
  override get(name: string, range?: ByteRange, o?: StoreCallOptions): Promise<Buffer> {
    if (range) this.rangedGets++;
    return this.counted(() => super.get(name, range, o));
  }
  override list(prefix: string, o?: StoreCallOptions): Promise<BlobInfo[]> {
    return this.counted(() => super.list(prefix, o));
  }
  override stat(name: string, o?: StoreCallOptions): Promise<BlobInfo | null> {
    return this.counted(() => super.stat(name, o));
  }
}

describe('store capabilities', function () {
  this.timeout(120_000);

  it('keeps to maxConcurrency, never sends a range to a store without ranges, and restores byte-identical', async () => {
    const work = tmp('caps');
    const source = path.join(work, 'docs');
    mkdirSync(path.join(source, 'sub'), { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(path.join(source, `f${i}.bin`), randomBytes(700_000));
    writeFileSync(path.join(source, 'sub', 'small.txt'), 'small\n');
    const inner = new LimitedStore();
    const repo = await initRepository(new RetryingBlobStore(inner), { password: null });
    const result = await backup(repo, { sources: [source], excludes: [], meta: META() });
    await repo.close();

    const reopened = await openRepository(new RetryingBlobStore(inner), { password: null });
    const target = path.join(work, 'restored');
    const restored = await restore(reopened, { snapshot: result.snapshotId, target, conflict: 'rename' });
    expect(restored.errors).to.deep.equal([]);
    expect(compareTrees(source, path.join(target, 'docs'))).to.deep.equal([]);
    const report = await check(reopened, { readData: true });
    expect(report.problems).to.deep.equal([]);
    await reopened.close();

    expect(inner.maxInFlight).to.equal(2);
    expect(inner.rangedGets).to.equal(0);
  });

  for (const atomicReplace of [true, false]) {
    it(`refreshes a lock ${atomicReplace ? 'in place on a store with atomic replace' : 'by writing a new lock and deleting the old one on a store without atomic replace'}`, async () => {
      class Store extends MemoryBlobStore {
        readonly capabilities: StoreCapabilities = { atomicReplace };
        overwrites = 0;
        override put(name: string, data: Uint8Array, o?: StoreCallOptions): Promise<void> {
          if (this.blobs.has(name)) this.overwrites++;
          return super.put(name, data, o);
        }
      }
      const inner = new Store();
      const repo = await initRepository(new RetryingBlobStore(inner), { password: null });
      const lock = await acquireLock(repo, { exclusive: false, purpose: 'test' });
      const first = lock.name;
      const before = (await listLocks(repo))[0].record as LockRecord;
      await new Promise((r) => setTimeout(r, 5));
      await refreshLock(repo, lock as { name: string }, { ...before });
      const locks = await listLocks(repo);
      expect(locks).to.have.length(1);
      expect(locks[0].name).to.equal(lock.name);
      expect(Date.parse(locks[0].record!.refreshed)).to.be.greaterThan(Date.parse(before.refreshed));
      if (atomicReplace) expect(lock.name).to.equal(first);
      else {
        expect(lock.name).to.not.equal(first);
        expect(inner.overwrites).to.equal(0);
      }
      await lock.release();
      expect(await listLocks(repo)).to.deep.equal([]);
      await repo.close();
    });
  }

  it('takes a paging listing, and retries one that fails part-way without listing a blob twice', async () => {
    class PagingStore extends MemoryBlobStore {
      failuresLeft = 2;
      override list(prefix: string): AsyncIterable<BlobInfo> & Promise<BlobInfo[]> {
        const self = this;
        const pages = (async function* () {
          let n = 0;
          for (const [name, data] of [...self.blobs].filter(([k]) => k.startsWith(prefix)).sort()) {
            if (n++ === 3 && self.failuresLeft-- > 0) throw new TransientStoreError('connection reset while paging');
            yield { name, size: data.length };
          }
        })();
        return pages as unknown as AsyncIterable<BlobInfo> & Promise<BlobInfo[]>;
      }
    }
    const inner = new PagingStore();
    for (let i = 0; i < 10; i++) inner.blobs.set(`snapshots/s${i}`, Buffer.alloc(i));
    const store = new RetryingBlobStore(inner, undefined, { attempts: 4, baseDelayMs: 1, maxDelayMs: 2, maxElapsedMs: 10_000 });
    const listed = await store.list('snapshots/');
    expect(listed.map((b) => b.name).sort()).to.deep.equal([...inner.blobs.keys()].sort());
    expect(store.retries).to.equal(2);
  });

  it('gives a stream to a store without putStream as one buffer, checking its size, and reads one without getStream', async () => {
    const inner = new MemoryBlobStore();
    const store = new RetryingBlobStore(inner);
    const data = randomBytes(3_000_000);
    const chunks = async function* (): AsyncGenerator<Buffer> {
      for (let at = 0; at < data.length; at += 100_000) yield data.subarray(at, at + 100_000);
    };
    await store.putFromStream('big', chunks, data.length);
    expect(inner.blobs.get('big')!.equals(data)).to.equal(true);
    let err: unknown;
    await store.putFromStream('wrong', chunks, data.length + 1).catch((e) => (err = e));
    expect((err as Error).message).to.match(/gave 3000000 bytes, not the 3000001 announced/);
    expect(inner.blobs.has('wrong')).to.equal(false);
    const parts: Buffer[] = [];
    for await (const part of await store.readStream('big', { offset: 10, length: 1000 })) parts.push(Buffer.from(part));
    expect(Buffer.concat(parts).equals(data.subarray(10, 1010))).to.equal(true);
  });

  it('never gives a stream of the wrong size the blob\'s name in the local store: the old blob stays whole', async () => {
    const dir = tmp('stream-size');
    const store = new LocalBlobStore(dir);
    const old = randomBytes(1000);
    await store.put('blob', old);
    const short = async function* (): AsyncGenerator<Buffer> {
      yield randomBytes(500);
    };
    let err: unknown;
    await store.putStream('blob', short(), 1000).catch((e) => (err = e));
    expect((err as Error).message).to.equal('blob "blob": the stream gave 500 bytes, not the 1000 announced');
    expect((await store.get('blob')).equals(old)).to.equal(true);
    expect(readdirSync(dir)).to.deep.equal(['blob']); // no temporary left either
  });
});
