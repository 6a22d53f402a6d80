/**
 * Keeping the index true to the packs the store holds:
 * - at the start of every backup (shared lock, nothing deleted): packs no index lists are
 *   indexed from their own headers; packs the index lists but the store no longer has are
 *   dropped from the index, so their blobs are uploaded again when the sources still have them;
 *   damaged index blobs are replaced. A correction is written as an index blob that supersedes
 *   the ones it corrects (readers ignore superseded blobs), never by deleting them;
 * - for a reader facing a damaged index blob: the packs it described are read from their own
 *   headers into memory, so a restore needs nothing but intact packs;
 * - `haven repair index` (exclusive lock): the index rebuilt from every pack header, every
 *   older index blob deleted, temporaries of dead writers removed;
 * - prune (exclusive lock): a replacement index for the packs it keeps (see
 *   writeReplacementIndex), written before anything it replaces is deleted.
 */
import type { BlobInfo, TemporarySweep } from '@haven/plugin-api';
import type { PackInfo } from './index.js';
import { packBlobName, packIdFromName, readPackHeader } from './pack.js';
import { mapLimit, type Repository } from './repository.js';

export interface PackHeaders {
  packs: PackInfo[];
  unreadable: Array<{ pack: string; message: string }>;
}

/** Reads the headers of these stored packs; those that cannot be read are listed apart. */
export async function readHeaders(repo: Repository, infos: readonly BlobInfo[]): Promise<PackHeaders> {
  const out: PackHeaders = { packs: [], unreadable: [] };
  await mapLimit(infos, 4, async (info) => {
    const id = packIdFromName(info.name);
    if (!id) return;
    try {
      out.packs.push({ id, size: info.size, entries: await readPackHeader(repo.store, info.name, info.size, repo.cipher, repo.decompressor) });
    } catch (err) {
      out.unreadable.push({ pack: id, message: (err as Error).message });
    }
  });
  return out;
}

/** The store's packs by id, with sizes. */
export async function storedPacks(repo: Repository): Promise<BlobInfo[]> {
  return (await repo.store.list('data/')).filter((i) => packIdFromName(i.name) !== null);
}

/**
 * Packs the index lists that the store no longer has. A listing may lag behind writes
 * (eventual consistency): a pack is lost only when a direct stat says so too. Normally no pack
 * is missed by the listing, and the stats cost nothing.
 */
export async function findLostPacks(repo: Repository, stored?: readonly BlobInfo[]): Promise<string[]> {
  const present = new Set((stored ?? (await storedPacks(repo))).map((i) => packIdFromName(i.name)));
  const lost: string[] = [];
  await mapLimit([...repo.index.packs.keys()].filter((id) => !present.has(id)), 8, async (id) => {
    if (!(await repo.store.stat(packBlobName(id)))) lost.push(id);
  });
  return lost;
}

export interface IndexReconciliation {
  /** Packs no index listed (left by an interrupted backup), indexed now. */
  recoveredPacks: number;
  /** Packs the index listed that the store no longer has; their blobs will be uploaded again. */
  missingPacks: string[];
  /** Index blobs superseded now (damaged ones, or ones listing missing packs). */
  supersededIndexFiles: number;
  /** Bytes of index written. */
  bytes: number;
}

/** Backup start: makes the loaded index agree with the packs in the store (see above). */
export async function reconcileIndex(repo: Repository): Promise<IndexReconciliation> {
  const stored = await storedPacks(repo);
  const missing = await findLostPacks(repo, stored);
  const { packs: recovered } = await readHeaders(repo, stored.filter((i) => !repo.index.packs.has(packIdFromName(i.name)!)));
  const damaged = [...repo.damagedIndexFiles.keys()];
  const result: IndexReconciliation = { recoveredPacks: recovered.length, missingPacks: missing, supersededIndexFiles: 0, bytes: 0 };
  if (missing.length === 0 && damaged.length === 0) {
    for (const p of recovered) repo.index.addPack(p);
    result.bytes = await repo.saveIndex(recovered);
    return result;
  }
  // One index blob replaces every loaded one: all they list but the missing packs, plus the
  // recovered packs (which include whatever a damaged index blob listed). Read from the blobs
  // again, not from memory, where a blob stored twice keeps one location only.
  const gone = new Set(missing);
  const kept = new Map<string, PackInfo>();
  const replaced: string[] = [...damaged];
  for (const name of repo.index.files) {
    let file;
    try {
      file = await repo.readIndexFile(name);
    } catch {
      continue; // unreadable now: left as it is, check will say so
    }
    replaced.push(name);
    for (const p of file.packs) if (!gone.has(p.id) && !kept.has(p.id)) kept.set(p.id, p);
  }
  for (const p of recovered) if (!kept.has(p.id)) kept.set(p.id, p);
  result.bytes = await repo.saveIndex([...kept.values()], replaced);
  result.supersededIndexFiles = replaced.length;
  await repo.reloadIndex();
  return result;
}

/**
 * For readers: when index blobs are damaged, the packs no readable index lists are read from
 * their headers into memory (nothing is written). Returns how many packs were added.
 */
export async function indexUnlistedPacksInMemory(repo: Repository): Promise<number> {
  if (repo.damagedIndexFiles.size === 0) return 0;
  const unlisted = (await storedPacks(repo)).filter((i) => !repo.index.packs.has(packIdFromName(i.name)!));
  const { packs } = await readHeaders(repo, unlisted);
  for (const p of packs) repo.index.addPack(p);
  return packs.length;
}

export interface IndexRepair {
  /** Packs whose headers were read into the new index. */
  packs: number;
  blobs: number;
  /** Packs whose header cannot be read: left in place, their blobs are not indexed. */
  unreadablePacks: Array<{ pack: string; message: string }>;
  /** Blobs the old index listed that no pack in the store holds any longer. */
  lostBlobs: number;
  /** Older index blobs deleted (superseded and damaged ones included). */
  removedIndexFiles: number;
  /** Temporaries of dead writers removed (null: the store cannot tell). */
  temporaries: TemporarySweep | null;
}

/** `haven repair index`; the caller holds an exclusive lock. */
export async function rebuildIndex(repo: Repository): Promise<IndexRepair> {
  const before = new Set(repo.index.blobs.keys());
  const oldFiles = (await repo.store.list('index/')).map((i) => i.name);
  const { packs, unreadable } = await readHeaders(repo, await storedPacks(repo));
  // The new index is written before any old one is deleted: a crash in between leaves both.
  await repo.saveIndex(packs);
  for (const name of oldFiles) await repo.store.delete(name);
  await repo.reloadIndex();
  let lost = 0;
  for (const id of before) if (!repo.index.has(id)) lost++;
  const temporaries = repo.store.sweepTemporaries ? await repo.store.sweepTemporaries({ dryRun: false }) : null;
  return { packs: packs.length, blobs: repo.index.blobs.size, unreadablePacks: unreadable, lostBlobs: lost, removedIndexFiles: oldFiles.length, temporaries };
}

/** Blobs per index blob of a replacement index: a few MiB each, so none grows without bound. */
const REPLACEMENT_INDEX_BLOBS = 50_000;

/**
 * Writes an index listing exactly these packs in place of the index blobs `replaced`, which the
 * caller deletes afterwards. Only the last blob written supersedes them: until it is stored,
 * readers load the old blobs and the new ones side by side (a pack listed twice is harmless),
 * and once it is, they ignore the old ones. A crash at any point leaves every pack indexed.
 * Returns the bytes written.
 */
export async function writeReplacementIndex(repo: Repository, packs: readonly PackInfo[], replaced: readonly string[]): Promise<number> {
  const groups: PackInfo[][] = [[]];
  let count = 0;
  for (const p of packs) {
    if (count > 0 && count + p.entries.length > REPLACEMENT_INDEX_BLOBS) {
      groups.push([]);
      count = 0;
    }
    groups[groups.length - 1].push(p);
    count += p.entries.length;
  }
  let bytes = 0;
  for (let i = 0; i < groups.length; i++) bytes += await repo.saveIndex(groups[i], i === groups.length - 1 ? replaced : []);
  return bytes;
}
