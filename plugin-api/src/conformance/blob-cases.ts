/** Cases on single blobs: round trips, overwrite, ranges, names, missing blobs, a large blob. */
import type { ConformanceCase } from './types.js';
import { codeOf, expectBytes, expectEqual, expectListing, expectRejectsNotMissing, expectRejectsWithCode, fail, randomBlob } from './assertions.js';

const MiB = 1024 * 1024;

export const blobCases: ConformanceCase[] = [
  {
    name: 'put then get returns the same bytes (0 B, 1 B, 1 MiB)',
    async run(store) {
      for (const [name, size] of [['empty', 0], ['one-byte', 1], ['one-mib', MiB]] as const) {
        const data = randomBlob(size);
        await store.put(name, data);
        expectBytes(await store.get(name), data, `get("${name}") after put of ${size} bytes`);
        expectEqual((await store.stat(name))?.size, size, `stat("${name}").size`);
      }
    },
  },
  {
    name: 'put over an existing blob replaces it',
    async run(store) {
      const first = randomBlob(3000);
      const second = randomBlob(1000); // shorter: a store that writes in place would leave a tail
      await store.put('blob', first);
      await store.put('blob', second);
      expectBytes(await store.get('blob'), second, 'get after the second put');
      expectEqual((await store.stat('blob'))?.size, second.length, 'stat().size after the second put');
      expectListing(await store.list(''), new Map([['blob', second.length]]), 'list("") after the second put');
    },
  },
  {
    name: 'get of a range inside the blob returns exactly those bytes',
    async run(store) {
      const data = randomBlob(100_000);
      await store.put('ranged', data);
      const ranges = [
        { offset: 0, length: 10, what: 'the start' },
        { offset: 40_000, length: 1234, what: 'the middle' },
        { offset: data.length - 7, length: 7, what: 'the end' },
        { offset: 0, length: data.length, what: 'the whole blob' },
        { offset: 500, length: 0, what: 'zero length' },
        { offset: data.length, length: 0, what: 'zero length at the end' },
      ];
      for (const { offset, length, what } of ranges) {
        const got = await store.get('ranged', { offset, length });
        expectBytes(got, data.subarray(offset, offset + length), `get with range { offset: ${offset}, length: ${length} } (${what}) of a ${data.length}-byte blob`);
      }
    },
  },
  {
    // The core reads pack trailers with exact ranges: padding (zeros) would be read as data.
    // A rejection must not say ENOENT: the core would take the blob for missing.
    name: 'get of a range that starts past the end rejects; one that runs past it gives only the bytes that exist',
    async run(store) {
      const data = randomBlob(1000);
      await store.put('short', data);
      await expectRejectsNotMissing(store.get('short', { offset: 1010, length: 5 }), 'get with range { offset: 1010, length: 5 } of a 1000-byte blob (starts past the end)');
      let tail: Buffer | undefined;
      try {
        tail = await store.get('short', { offset: 995, length: 10 });
      } catch (err) {
        // API 1.0 allowed a rejection here; it still may not claim the blob is missing.
        if (codeOf(err) === 'ENOENT') fail("get with range { offset: 995, length: 10 } of a 1000-byte blob rejected with code 'ENOENT', but the blob exists");
        return;
      }
      expectBytes(tail, data.subarray(995), 'get with range { offset: 995, length: 10 } of a 1000-byte blob (runs past the end; must reject or return the 5 bytes that exist, never padding)');
    },
  },
  {
    name: 'names may use every allowed character [A-Za-z0-9._-] and nest with /',
    async run(store) {
      const names = ['ABCXYZ', 'abcxyz', '0123456789', 'dots.in.name', 'under_score', 'da-sh', '.leading-dot', '-leading-dash', 'a..b', 'Mixed.Case_09-x/nested/Deeper.Level_2/leaf-0.9'];
      const expected = new Map<string, Buffer>();
      for (const name of names) {
        const data = randomBlob(10 + expected.size);
        expected.set(name, data);
        await store.put(name, data);
      }
      for (const [name, data] of expected) {
        expectBytes(await store.get(name), data, `get("${name}")`);
        expectEqual((await store.stat(name))?.size, data.length, `stat("${name}").size`);
      }
      expectListing(await store.list(''), new Map([...expected].map(([n, d]) => [n, d.length])), 'list("") of the names above');
    },
  },
  {
    name: "get of a missing blob rejects with code 'ENOENT'",
    async run(store) {
      await expectRejectsWithCode(store.get('missing'), 'ENOENT', 'get("missing")');
      await expectRejectsWithCode(store.get('no/such/folder/blob'), 'ENOENT', 'get("no/such/folder/blob")');
      await expectRejectsWithCode(store.get('missing', { offset: 0, length: 4 }), 'ENOENT', 'get("missing") with a range');
    },
  },
  {
    name: 'stat of a missing blob is null, of a present one its size',
    async run(store) {
      expectEqual(await store.stat('missing'), null, 'stat("missing")');
      expectEqual(await store.stat('no/such/folder/blob'), null, 'stat("no/such/folder/blob")');
      await store.put('present', randomBlob(3));
      const info = await store.stat('present');
      expectEqual(info?.name, 'present', 'stat("present").name');
      expectEqual(info?.size, 3, 'stat("present").size of a 3-byte blob');
    },
  },
  {
    name: 'delete of a missing blob resolves; a deleted blob is gone',
    async run(store) {
      await store.delete('missing');
      await store.delete('no/such/folder/blob');
      await store.put('doomed', randomBlob(100));
      await store.put('kept', randomBlob(5));
      await store.delete('doomed');
      await expectRejectsWithCode(store.get('doomed'), 'ENOENT', 'get after delete');
      expectEqual(await store.stat('doomed'), null, 'stat after delete');
      expectListing(await store.list(''), new Map([['kept', 5]]), 'list("") after deleting "doomed" of "doomed" and "kept"');
    },
  },
];
