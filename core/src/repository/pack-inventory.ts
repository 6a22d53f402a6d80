/**
 * Every pack the store holds, with the blobs in it: from the index where an index blob lists
 * it, from its own header where none does (left by an interrupted backup or prune, or listed
 * only by a damaged index blob). Prune decides from this what to keep, so a pack the index does
 * not know is still weighed, and one the index lists but the store lost is never counted on.
 */
import type { BlobInfo } from '@haven/plugin-api';
import type { PackInfo } from './index.js';
import { findLostPacks, readHeaders, storedPacks } from './index-maintenance.js';
import { packIdFromName } from './pack.js';
import { mapLimit, type Repository } from './repository.js';

export interface StoredPack extends PackInfo {
  /** Listed by a loaded index blob (false: known from its own header only). */
  indexed: boolean;
}

export interface PackInventory {
  /** Packs present in the store whose blobs are known. */
  packs: StoredPack[];
  /** Every index blob in the store: loaded, superseded and damaged ones alike. */
  indexFiles: BlobInfo[];
  /** Index blobs that cannot be read. */
  damagedIndexFiles: string[];
  /** Index blobs another one supersedes (ignored by readers, still stored). */
  supersededIndexFiles: string[];
  /** Packs an index blob lists that the store no longer has. */
  lostPacks: string[];
  /** Packs in no index whose header cannot be read: their blobs are unknown. */
  unreadablePacks: Array<{ pack: string; message: string }>;
}

/** Reads the index again from the store and completes it from the packs themselves. */
export async function takeInventory(repo: Repository): Promise<PackInventory> {
  await repo.reloadIndex();
  const indexFiles = await repo.store.list('index/');
  const stored = await storedPacks(repo);
  const storedSize = new Map(stored.map((i) => [packIdFromName(i.name)!, i.size]));
  const damaged = new Set(repo.damagedIndexFiles.keys());

  // The index blobs again, whole: the in-memory index keeps one location per blob, and prune
  // needs every blob of every pack, duplicates included.
  const listed = new Map<string, PackInfo>();
  await mapLimit([...repo.index.files], 8, async (name) => {
    try {
      for (const p of (await repo.readIndexFile(name)).packs) if (!listed.has(p.id)) listed.set(p.id, p);
    } catch {
      damaged.add(name); // unreadable now: what it lists is read from the packs' headers below
    }
  });

  const lost = new Set(await findLostPacks(repo, stored));
  const packs: StoredPack[] = [];
  for (const p of listed.values()) {
    if (lost.has(p.id)) continue;
    // A listing that lags behind writes may miss a pack a stat found: it has the indexed size.
    const size = storedSize.get(p.id) ?? p.size;
    if (size === p.size) packs.push({ ...p, indexed: true });
  }
  const known = new Set(packs.map((p) => p.id));
  // Packs no readable index lists, and those whose size disagrees with the index: their headers say what they hold.
  const headers = await readHeaders(repo, stored.filter((i) => !known.has(packIdFromName(i.name)!)));
  for (const p of headers.packs) packs.push({ ...p, indexed: false });
  return {
    packs,
    indexFiles,
    damagedIndexFiles: [...damaged],
    supersededIndexFiles: indexFiles.map((i) => i.name).filter((n) => repo.index.superseded.has(n)),
    lostPacks: [...lost],
    unreadablePacks: headers.unreadable,
  };
}
