/** Cases on list(): prefixes, what must never be listed, many blobs. */
import type { ConformanceCase } from './types.js';
import { expectListing, fail, mapLimit, probeWhile, randomBlob, sizesByName } from './assertions.js';

export const listCases: ConformanceCase[] = [
  {
    name: 'list returns the blobs whose names start with the prefix, with their sizes',
    async run(store) {
      const blobs = new Map([['a/b/c', 3], ['a/b/d', 4], ['a/x', 5], ['ab', 6], ['b/c', 7]]);
      for (const [name, size] of blobs) await store.put(name, randomBlob(size));
      const only = (...names: string[]) => new Map(names.map((n) => [n, blobs.get(n)!]));
      expectListing(await store.list(''), blobs, 'list("")');
      expectListing(await store.list('a/'), only('a/b/c', 'a/b/d', 'a/x'), 'list("a/")');
      expectListing(await store.list('a/b/'), only('a/b/c', 'a/b/d'), 'list("a/b/")');
      // A prefix is a string prefix, not a folder: "a" also matches "ab".
      expectListing(await store.list('a'), only('a/b/c', 'a/b/d', 'a/x', 'ab'), 'list("a")');
      expectListing(await store.list('a/b/c'), only('a/b/c'), 'list("a/b/c") (a whole name)');
      expectListing(await store.list('nothing/'), new Map(), 'list("nothing/") (matches nothing)');
      expectListing(await store.list('a/b/c/'), new Map(), 'list("a/b/c/") (below a blob name)');
    },
  },
  {
    // What a writer has not finished (a temporary, a blob being written in place) must not be
    // listed: the core would take it for a blob, and index or delete it.
    name: 'list during writes shows only whole blobs, never temporaries',
    async run(store) {
      const sizes = new Map([0, 1, 2, 3, 4, 5].map((i) => [`w/${i}`, 2 * 1024 * 1024 + i] as [string, number]));
      await probeWhile(
        async () => {
          for (const [name, size] of sizes) await store.put(name, randomBlob(size));
        },
        async () => {
          for (const prefix of ['', 'w/']) {
            for (const [name, size] of sizesByName(await store.list(prefix), `list("${prefix}") during puts`)) {
              const expected = sizes.get(name);
              if (expected === undefined) fail(`list("${prefix}") during puts of ${[...sizes.keys()].join(', ')} showed "${name}", which was never put (a temporary?)`);
              if (size !== expected) fail(`list("${prefix}") during puts showed "${name}" with size ${size}, expected ${expected} (a blob still being written?)`);
            }
          }
        },
      );
      expectListing(await store.list(''), sizes, 'list("") after the puts');
    },
  },
  {
    name: 'list of many blobs (10,000 by default) in nested folders',
    async run(store, ctx) {
      const count = ctx.settings.listCount;
      // Spread like the repository's data/ab/… folders.
      const blobs = new Map(Array.from({ length: count }, (_, i) => [`many/${(i % 16).toString(16)}/blob-${i}`, i % 97] as [string, number]));
      await mapLimit([...blobs], 16, ([name, size]) => store.put(name, randomBlob(size)));
      expectListing(await store.list('many/'), blobs, `list("many/") of ${count} blobs`);
      const inA = new Map([...blobs].filter(([name]) => name.startsWith('many/a/')));
      expectListing(await store.list('many/a/'), inA, 'list("many/a/")');
    },
  },
];
