/**
 * Declared capabilities are honoured: a store that allows 2 calls at once never sees a third,
 * a store without ranges never receives one (the core reads whole blobs and slices them), and
 * a store whose listing lags still backs up, restores byte-identical and checks clean.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BlobInfo, ByteRange, StoreCallOptions, StoreCapabilities } from '@haven/plugin-api';
import { backup, check, initRepository, openRepository, restore } from '#core/engine/index.js';
import { RetryingBlobStore } from '#core/storage/retrying-store.js';
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
});
