/**
 * Prune: removes the data no remaining snapshot needs, under the repository's exclusive lock
 * (no backup can add data, and no restore read it, meanwhile; a dry run takes the same lock, so
 * its figures are those a prune would have at that moment).
 *
 * 1. Inventory: every pack in the store with its blobs (index, or the pack's own header).
 * 2. The blobs in use: every snapshot's trees walked. A snapshot that cannot be read, or one
 *    referring to a blob no pack holds, makes prune refuse: it never deletes data a damaged
 *    snapshot may need.
 * 3. The plan (prune-plan.ts): packs kept, removed, or repacked when more than
 *    `maxUnusedFraction` of their bytes is unused.
 * Then, in this order, so that a crash (SIGKILL, power loss) between or inside any two steps
 * leaves a valid repository, at worst with packs no index lists (harmless; the next prune or
 * backup deals with them):
 * 4. new packs with the used blobs of the packs being repacked (not indexed yet);
 * 5. a new index listing every pack kept and written, superseding every index blob there was;
 * 6. the old index blobs deleted (already ignored by readers: superseded);
 * 7. the removed and repacked packs deleted: nothing indexed refers to them any more.
 * An abort (signal) is honoured between steps and between packs; the lock is released.
 */
import type { TemporarySweep } from '@haven/plugin-api';
import { InterruptedError, RepositoryCorruptError, UsageError } from '../errors.js';
import { writeReplacementIndex } from '../repository/index-maintenance.js';
import type { PackInfo } from '../repository/index.js';
import { withExclusiveLock } from '../repository/locks.js';
import { BlobType, ENTRY_LEN, TRAILER_LEN, packBlobName } from '../repository/pack.js';
import { takeInventory, type PackInventory, type StoredPack } from '../repository/pack-inventory.js';
import { mapLimit, type Repository } from '../repository/repository.js';
import { DEFAULT_MAX_UNUSED_FRACTION, planPrune, type PackPlan } from './prune-plan.js';
import { repack } from './repack.js';
import { loadAllSnapshots } from './snapshots.js';
import { collectUsedBlobs } from './used-blobs.js';

export { DEFAULT_MAX_UNUSED_FRACTION } from './prune-plan.js';

/** Deletions in flight at once (a remote store answers each after a round trip). */
const DELETE_CONCURRENCY = 8;

export interface PruneOptions {
  /** Work out and report what a prune would do; change nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /**
   * Share (0–1) of a pack's bytes that may be unused before its used blobs are copied into a
   * new pack and it is deleted; default 0.1. 0 repacks every partly used pack, 1 never repacks.
   */
  maxUnusedFraction?: number;
}

export interface PruneReport {
  dryRun: boolean;
  maxUnusedFraction: number;
  snapshots: number;
  /** Distinct tree and data blobs the snapshots use. */
  usedBlobs: number;
  /** Packs in the store before and after (on a dry run: after a prune). */
  packsBefore: number;
  packsAfter: number;
  /** Packs nothing used, deleted. */
  packsDeleted: number;
  /** Partly used packs whose used blobs were copied into new packs, then deleted. */
  packsRepacked: number;
  /** New packs holding the copied blobs. */
  packsWritten: number;
  /** Blob copies removed: blobs no snapshot uses, and extra copies of used ones. */
  blobsRemoved: number;
  /** Store bytes of the packs deleted and repacked, less those of the packs written (estimated on a dry run). */
  bytesFreed: number;
  /** Bytes of used blobs copied into new packs. */
  bytesRepacked: number;
  /** Unused bytes left in partly used packs under the threshold. */
  unusedBytesKept: number;
  /** Index blobs replaced by the new index (and deleted). */
  indexFilesReplaced: number;
  /** Packs an index listed that the store no longer had: dropped from the index. */
  lostPacks: string[];
  /** Packs in no index whose header cannot be read: left in place. */
  unreadablePacks: Array<{ pack: string; message: string }>;
  /** Packs to repack with a used blob that does not verify: left as they are (see `haven check`). */
  damagedPacks: Array<{ pack: string; message: string }>;
  /** Temporaries of killed writers removed (counted on a dry run); null: the store cannot tell. */
  temporaries: TemporarySweep | null;
}

/** Bytes the headers of new packs add (uncompressed, sealed: flag, nonce, tag; trailer): a dry run's estimate. */
function estimatedPackOverhead(blobs: number, packs: number): number {
  return blobs * ENTRY_LEN + packs * (9 + 1 + 12 + 16 + TRAILER_LEN);
}

function checkOptions(opts: PruneOptions): number {
  const f = opts.maxUnusedFraction ?? DEFAULT_MAX_UNUSED_FRACTION;
  if (typeof f !== 'number' || !(f >= 0 && f <= 1)) throw new UsageError(`the largest unused share of a pack must be between 0 and 1 (got ${String(f)})`);
  return f;
}

export async function prune(repo: Repository, opts: PruneOptions = {}): Promise<PruneReport> {
  const maxUnusedFraction = checkOptions(opts);
  const checkpoint = (): void => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new InterruptedError('prune was interrupted');
  };
  checkpoint();
  return withExclusiveLock(repo, opts.dryRun ? 'prune (dry run)' : 'prune', async () => {
    try {
      return await run(repo, { dryRun: opts.dryRun ?? false, maxUnusedFraction, checkpoint });
    } finally {
      // The in-memory index was rebuilt from the inventory: load what the store now says.
      await repo.reloadIndex().catch(() => undefined);
    }
  });
}

async function run(repo: Repository, opts: { dryRun: boolean; maxUnusedFraction: number; checkpoint: () => void }): Promise<PruneReport> {
  const { dryRun, checkpoint } = opts;
  const temporaries = repo.store.sweepTemporaries ? await repo.store.sweepTemporaries({ dryRun }) : null;
  const inventory = await takeInventory(repo);
  // Trees are read through the in-memory index: it must list exactly the packs present, those
  // only a pack header knows included, and none the store lost.
  repo.index.clear();
  for (const p of inventory.packs) repo.index.addPack(p);

  const { snapshots, damaged } = await loadAllSnapshots(repo);
  if (damaged.length) {
    throw new RepositoryCorruptError(
      `prune refuses to run: ${damaged.length} snapshot(s) cannot be read (${damaged.map((d) => `${d.id.slice(0, 12)}: ${d.message}`).join('; ')}); ` +
        'what they refer to cannot be known, so no data can be deleted safely. See `haven check` and `haven repair snapshots`; ' +
        'a snapshot blob that cannot be read at all has to be put back from a copy, or deleted by hand (snapshots/<id>) once it is given up, before prune can run',
    );
  }
  checkpoint();
  const used = await collectUsedBlobs(repo, snapshots, checkpoint);
  const plan = planPrune(inventory.packs, used, opts.maxUnusedFraction);
  const report = baseReport(inventory, plan, { dryRun, maxUnusedFraction: opts.maxUnusedFraction, snapshots: snapshots.length, usedBlobs: used.size, temporaries });
  if (!needsChanges(inventory, plan)) return report;
  report.indexFilesReplaced = inventory.indexFiles.length;
  if (dryRun) return dryRunFigures(report, plan, repo.config.packSize);

  // 4. New packs first.
  checkpoint();
  const copied = await repack(repo, plan.repack, checkpoint);
  // 5. One index for everything that stays.
  checkpoint();
  const kept: PackInfo[] = [...plan.keep, ...copied.damaged.map((d) => d.pack), ...copied.written].map(({ id, size, entries }) => ({ id, size, entries }));
  await writeReplacementIndex(repo, kept, inventory.indexFiles.map((i) => i.name));
  // 6. The index blobs it replaces, every one, before any pack goes.
  await mapLimit(inventory.indexFiles, DELETE_CONCURRENCY, async (file) => {
    checkpoint();
    await repo.store.delete(file.name);
  });
  // 7. The packs nothing indexed refers to any more.
  const doomed: StoredPack[] = [...plan.remove, ...copied.emptied];
  await mapLimit(doomed, DELETE_CONCURRENCY, async (pack) => {
    checkpoint();
    await repo.store.delete(packBlobName(pack.id));
  });

  const writtenBytes = copied.written.reduce((sum, p) => sum + p.size, 0);
  return {
    ...report,
    packsAfter: report.packsBefore - doomed.length + copied.written.length,
    packsRepacked: copied.emptied.length,
    packsWritten: copied.written.length,
    blobsRemoved: countEntries(doomed) - copied.blobs,
    bytesFreed: sumSizes(doomed) - writtenBytes,
    bytesRepacked: copied.bytes,
    damagedPacks: copied.damaged.map((d) => ({ pack: d.pack.id, message: d.message })),
  };
}

/**
 * Whether prune has anything to do: packs to delete or repack, or an index to put right (packs
 * it does not list, packs it lists that are lost, index blobs damaged or superseded).
 */
function needsChanges(inventory: PackInventory, plan: PackPlan): boolean {
  return (
    plan.remove.length > 0 ||
    plan.repack.length > 0 ||
    inventory.packs.some((p) => !p.indexed) ||
    inventory.lostPacks.length > 0 ||
    inventory.damagedIndexFiles.length > 0 ||
    inventory.supersededIndexFiles.length > 0
  );
}

const sumSizes = (packs: readonly StoredPack[]): number => packs.reduce((sum, p) => sum + p.size, 0);
const countEntries = (packs: readonly StoredPack[]): number => packs.reduce((sum, p) => sum + p.entries.length, 0);

/** The figures every report has; what the plan would change is filled in by the caller. */
function baseReport(
  inventory: PackInventory,
  plan: PackPlan,
  fixed: Pick<PruneReport, 'dryRun' | 'maxUnusedFraction' | 'snapshots' | 'usedBlobs' | 'temporaries'>,
): PruneReport {
  const packsBefore = inventory.packs.length + inventory.unreadablePacks.length;
  return {
    ...fixed,
    packsBefore,
    packsAfter: packsBefore,
    packsDeleted: plan.remove.length,
    packsRepacked: 0,
    packsWritten: 0,
    blobsRemoved: 0,
    bytesFreed: 0,
    bytesRepacked: 0,
    unusedBytesKept: plan.unusedBytesKept,
    indexFilesReplaced: 0,
    lostPacks: inventory.lostPacks,
    unreadablePacks: inventory.unreadablePacks,
    damagedPacks: [],
  };
}

/**
 * What the plan would do, without doing it: blobs are not verified (a damaged one would keep
 * its pack), and the new packs' number and sizes are estimated.
 */
function dryRunFigures(report: PruneReport, plan: PackPlan, packSize: number): PruneReport {
  const copies = plan.repack.flatMap((r) => r.blobs);
  const bytesOf = (type: BlobType): number => copies.filter((e) => e.type === type).reduce((sum, e) => sum + e.length, 0);
  const packsWritten = Math.ceil(bytesOf(BlobType.Data) / packSize) + Math.ceil(bytesOf(BlobType.Tree) / packSize);
  const bytesRepacked = bytesOf(BlobType.Data) + bytesOf(BlobType.Tree);
  const doomed = [...plan.remove, ...plan.repack.map((r) => r.pack)];
  return {
    ...report,
    packsAfter: report.packsBefore - doomed.length + packsWritten,
    packsRepacked: plan.repack.length,
    packsWritten,
    blobsRemoved: countEntries(doomed) - copies.length,
    bytesRepacked,
    bytesFreed: sumSizes(doomed) - bytesRepacked - estimatedPackOverhead(copies.length, packsWritten),
  };
}
