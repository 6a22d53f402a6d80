/** Cases on concurrent calls: atomic replacement, parallel puts. */
import type { ConformanceCase } from './types.js';
import { codeOf, expectBytes, expectListing, fail, probeWhile, randomBlob, settleAll } from './assertions.js';

const MiB = 1024 * 1024;

export const concurrencyCases: ConformanceCase[] = [
  {
    name: 'a reader never sees a partial blob while a writer replaces an 8 MiB blob',
    async run(store) {
      // Two sizes, so a reader of a half-replaced blob cannot be fooled by equal lengths.
      const versions = [randomBlob(8 * MiB), randomBlob(8 * MiB + 517)];
      await store.put('replaced', versions[0]);
      let reads = 0;
      await probeWhile(
        async () => {
          for (let round = 1; round <= 6; round++) await store.put('replaced', versions[round % 2]);
        },
        async () => {
          let got: Buffer;
          try {
            got = await store.get('replaced');
          } catch (err) {
            fail(`get("replaced") while it was being replaced rejected (${codeOf(err) ?? 'no code'}: ${(err as Error).message}): a replaced blob must stay readable, old or new`);
          }
          reads++;
          if (!versions.some((v) => v.equals(got))) {
            fail(`get("replaced") while it was being replaced returned ${got.length} bytes that are neither the old (${versions[0].length} bytes) nor the new (${versions[1].length} bytes) content: a partial blob (read ${reads})`);
          }
        },
      );
      expectBytes(await store.get('replaced'), versions[0], 'get("replaced") after the last put');
    },
  },
  {
    name: '32 concurrent puts of different blobs all land intact',
    async run(store) {
      const blobs = new Map(Array.from({ length: 32 }, (_, i) => [`parallel/${i}`, randomBlob(64 * 1024 + i * 1000)] as [string, Buffer]));
      await settleAll([...blobs].map(([name, data]) => store.put(name, data)));
      for (const [name, data] of blobs) expectBytes(await store.get(name), data, `get("${name}") after 32 concurrent puts`);
      expectListing(await store.list('parallel/'), new Map([...blobs].map(([n, d]) => [n, d.length])), 'list("parallel/") after 32 concurrent puts');
    },
  },
];
