/**
 * Cases on large blobs and what API 1.1 added for them: streaming put and get, free space,
 * and a store that cannot be reached.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { BlobStore } from '../storage.js';
import type { CaseStore, ConformanceCase } from './types.js';
import { codeOf, expectBytes, expectEqual, expectRejectsNotMissing, fail, randomBlob } from './assertions.js';
import { ScopedBlobStore } from './scoped-store.js';

const MiB = 1024 * 1024;

/**
 * A reproducible stream of `size` bytes in 1 MiB chunks (an AES-CTR key stream of the seed:
 * fast, and random enough that no store can compress it), so a 300 MB blob is written and
 * checked without ever being one buffer.
 */
async function* patternChunks(size: number, seed: string): AsyncGenerator<Buffer> {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  for (let at = 0; at < size; ) {
    const chunk = cipher.update(Buffer.alloc(Math.min(MiB, size - at)));
    at += chunk.length;
    yield chunk;
  }
}

async function digestOf(chunks: AsyncIterable<Uint8Array>): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** The bytes a stream gives, as one buffer (for small blobs). */
async function joined(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

export const streamCases: ConformanceCase[] = [
  {
    name: 'a large blob round trip (64 MiB by default; streamed when the store can)',
    async run(store, ctx) {
      const size = ctx.settings.largeBytes;
      const expected = await digestOf(patternChunks(size, 'large'));
      if (store.putStream) await store.putStream('large', patternChunks(size, 'large'), size);
      else await store.put('large', await joined(patternChunks(size, 'large')));
      expectEqual((await store.stat('large'))?.size, size, 'stat("large").size');
      // The core reads a pack's trailer from its end, then pieces of it.
      const tail = Math.min(4096, size);
      const whole = store.getStream ? null : await store.get('large');
      const tailBytes = await store.get('large', { offset: size - tail, length: tail });
      let last = Buffer.alloc(0);
      for await (const chunk of patternChunks(size, 'large')) last = Buffer.concat([last, chunk]).subarray(-tail);
      expectBytes(tailBytes, last, `get of the last ${tail} bytes of the large blob`);
      const got = await digestOf(store.getStream ? await store.getStream('large') : (async function* () { yield whole!; })());
      if (got.size !== size || got.sha256 !== expected.sha256) {
        fail(`reading "large" back gave ${got.size} bytes (sha256 ${got.sha256.slice(0, 12)}…), expected ${size} (sha256 ${expected.sha256.slice(0, 12)}…)`);
      }
    },
  },
  {
    name: 'putStream and getStream keep the contract of put and get (ranges, empty, missing)',
    async run(store, ctx) {
      if (!store.putStream && !store.getStream) return ctx.skip('the store has neither putStream nor getStream (optional since API 1.1; the core uses put and get)');
      const data = randomBlob(3 * MiB + 17);
      const chunksOf = async function* (b: Buffer): AsyncGenerator<Buffer> {
        for (let at = 0; at < b.length; at += 65536) yield b.subarray(at, at + 65536);
      };
      if (store.putStream) {
        await store.putStream('streamed', chunksOf(data), data.length);
        await store.putStream('empty', chunksOf(Buffer.alloc(0)), 0);
        expectBytes(await store.get('streamed'), data, 'get("streamed") after putStream');
        expectBytes(await store.get('empty'), Buffer.alloc(0), 'get("empty") after putStream of 0 bytes');
      } else {
        await store.put('streamed', data);
        await store.put('empty', Buffer.alloc(0));
      }
      if (!store.getStream) return;
      expectBytes(await joined(await store.getStream('streamed')), data, 'getStream("streamed")');
      expectBytes(await joined(await store.getStream('empty')), Buffer.alloc(0), 'getStream("empty")');
      const ranges = [
        { offset: 0, length: 10 },
        { offset: 1_000_000, length: 2 * MiB },
        { offset: data.length - 5, length: 5 },
        { offset: 77, length: 0 },
        { offset: data.length, length: 0 },
      ];
      for (const range of ranges) {
        expectBytes(await joined(await store.getStream('streamed', range)), data.subarray(range.offset, range.offset + range.length), `getStream("streamed", ${JSON.stringify(range)})`);
      }
      try {
        await joined(await store.getStream('missing'));
        fail('getStream("missing") gave a stream: expected a rejection with code \'ENOENT\'');
      } catch (err) {
        if (codeOf(err) !== 'ENOENT') throw err instanceof Error && /getStream\("missing"\) gave/.test(err.message) ? err : new Error(`getStream("missing"): expected a rejection with code 'ENOENT', got code ${JSON.stringify(codeOf(err))} (${(err as Error)?.message})`);
      }
    },
  },
  {
    name: 'freeSpace gives a number of bytes (or undefined when it cannot tell)',
    async run(store, ctx) {
      if (!store.freeSpace) return ctx.skip('the store has no freeSpace (optional since API 1.1; the core then cannot refuse a run that will not fit up front)');
      const free = await store.freeSpace();
      if (free === undefined) return;
      if (typeof free !== 'number' || !Number.isFinite(free) || free < 0 || !Number.isInteger(free)) fail(`freeSpace() gave ${JSON.stringify(free)}: expected a whole number of bytes >= 0, or undefined`);
    },
  },
  {
    // A store that cannot be reached and answers "not found" makes the core take present
    // packs for lost, or a repository for absent (and create a new one over it).
    name: "a store that cannot be reached never answers 'not found' (no ENOENT, no null stat, no empty listing)",
    async run(_store, ctx) {
      const open = ctx.settings.openUnreachable;
      if (!open) return ctx.skip('no way to make this store unreachable was given (openUnreachable)');
      const inner: BlobStore = await open();
      const store: CaseStore = new ScopedBlobStore(inner, ctx.prefix);
      try {
        await expectRejectsNotMissing(store.get('config'), 'get("config") of an unreachable store');
        await expectRejectsNotMissing(store.get('data/ab/ab12', { offset: 0, length: 8 }), 'get of a range of an unreachable store');
        await expectRejectsNotMissing(store.stat('config'), 'stat("config") of an unreachable store');
        await expectRejectsNotMissing(store.list(''), 'list("") of an unreachable store');
        await expectRejectsNotMissing(store.put('written', randomBlob(10)).then(() => 'written'), 'put("written") into an unreachable store');
      } finally {
        await inner.close().catch(() => undefined);
      }
    },
  },
];
