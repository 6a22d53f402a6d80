/**
 * The storage conformance kit: the local store and the in-memory test store keep the contract,
 * and stores that break it in small ways fail it with a message that says how.
 */
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { LocalBlobStore } from '#plugin-local/local-blob-store.js';
import { describeBlobStore, runConformance, type ConformanceResult } from '@haven/plugin-api/conformance';
import type { BlobInfo, ByteRange, StoreCallOptions } from '@haven/plugin-api';
import { tempDir } from '../helpers/haven-cli.js';
import { MemoryBlobStore } from '../helpers/memory-blob-store.js';

const localRoot = tempDir('haven-conformance-local-');
// Unreachable: the destination folder is gone, as when its drive is unplugged.
describeBlobStore('conformance kit: LocalBlobStore', async () => new LocalBlobStore(localRoot), {
  openUnreachable: async () => new LocalBlobStore(path.join(tempDir('haven-conformance-gone-'), 'unplugged')),
});

// One store for every case: the runner's clean-up is checked to leave it empty.
const memory = new MemoryBlobStore();
describeBlobStore('conformance kit: MemoryBlobStore (test helper)', async () => memory, {
  openUnreachable: async () => Object.assign(new MemoryBlobStore(), { unreachable: true }),
});

/** A 1.0-style mistake: a missing blob rejects, but with no code the core can act on. */
class PlainNotFoundStore extends MemoryBlobStore {
  override async get(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<Buffer> {
    if (!this.blobs.has(name)) throw new Error(`no such blob ${name}`);
    return super.get(name, range, options);
  }
}

/** Lists a writer's temporary as if it were a blob. */
class ListsTemporariesStore extends MemoryBlobStore {
  override async list(prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]> {
    const found = await super.list(prefix, options);
    return found.length ? [...found, { name: `${found[0].name}.partial`, size: 1 }] : found;
  }
}

/** An API 1.0 store: no putIfAbsent. */
class NoPutIfAbsentStore extends MemoryBlobStore {
  override putIfAbsent = undefined as unknown as MemoryBlobStore['putIfAbsent'];
}

/** A 1.0-style store that answers "not found" for everything when its medium is gone. */
class GoneLooksEmptyStore extends MemoryBlobStore {
  override async get(name: string): Promise<Buffer> {
    throw Object.assign(new Error(`no such blob ${name}`), { code: 'ENOENT' });
  }
  override async stat(): Promise<null> {
    return null;
  }
  override async list(): Promise<BlobInfo[]> {
    return [];
  }
}

function failures(result: ConformanceResult): Record<string, string | undefined> {
  return Object.fromEntries(result.cases.filter((c) => c.status === 'failed').map((c) => [c.name, c.error]));
}

describe('conformance kit: the runner', function () {
  this.timeout(120_000);

  it('leaves nothing behind in the stores it ran against', () => {
    expect([...memory.blobs.keys()]).to.deep.equal([]);
    const files = readdirSync(localRoot, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.map((f) => f.name)).to.deep.equal([]);
  });

  it("fails a store whose get of a missing blob rejects without code 'ENOENT', saying so", async () => {
    const result = await runConformance(async () => new PlainNotFoundStore(), { filter: (name) => name.includes('missing blob') });
    expect(result.failed).to.be.at.least(1);
    const failed = failures(result);
    expect(failed["get of a missing blob rejects with code 'ENOENT'"]).to.match(/^get\("missing"\): expected a rejection with code 'ENOENT', got an error without code \(no such blob haven-conformance-[0-9a-f]+\/\d+\/missing\)$/);
  });

  it('fails a store that lists a temporary (.partial), naming it', async () => {
    const result = await runConformance(async () => new ListsTemporariesStore(), { filter: (name) => name.startsWith('list') });
    const failed = failures(result);
    expect(result.failed).to.equal(3);
    expect(failed['list returns the blobs whose names start with the prefix, with their sizes']).to.match(/^list\(""\): expected 5 blobs, got 6; not expected "[^"]+\.partial"$/);
    expect(failed['list during writes shows only whole blobs, never temporaries']).to.match(/^list\(""\) during puts of w\/0, .* showed "w\/0\.partial", which was never put \(a temporary\?\)$/);
  });

  it("fails a store that answers 'not found' when it cannot be reached, saying which call did", async () => {
    const result = await runConformance(async () => new MemoryBlobStore(), {
      filter: (name) => name.includes('cannot be reached'),
      openUnreachable: async () => new GoneLooksEmptyStore(),
    });
    expect(result).to.include({ failed: 1, passed: 0 });
    expect(result.cases[0].error).to.match(/^get\("config"\) of an unreachable store: expected a rejection with any code but 'ENOENT', got code "ENOENT"/);
  });

  it('skips the unreachable-store case when no way to make the store unreachable is given', async () => {
    const result = await runConformance(async () => new MemoryBlobStore(), { filter: (name) => name.includes('cannot be reached') });
    expect(result).to.include({ skipped: 1, passed: 0, failed: 0 });
  });

  it('reports a store without putIfAbsent as skipped, with the reason, never as passed', async () => {
    const result = await runConformance(async () => new NoPutIfAbsentStore(), { filter: (name) => name.startsWith('putIfAbsent') || name.startsWith('calls with an aborted') });
    expect(result).to.include({ passed: 1, failed: 0, skipped: 1 });
    const skipped = result.cases.find((c) => c.status === 'skipped')!;
    expect(skipped).to.include({ name: 'putIfAbsent: of two racing calls exactly one wins, and its blob stays', ok: false });
    expect(skipped.skipped).to.match(/^the store has no putIfAbsent/);
  });
});
