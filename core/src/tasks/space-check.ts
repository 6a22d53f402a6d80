/**
 * Refusing a backup that plainly will not fit, before it writes anything (API 1.1's optional
 * `BlobStore.freeSpace`): "not enough space: need about X, Y free" beats a run that fails
 * halfway with a full drive.
 *
 * The need is an estimate, on the generous side of what a user would call plainly too big:
 * - a task's first backup needs about the size of its sources (before compression and
 *   deduplication, which can only make it smaller), counted only when it matters: when the
 *   destination has more room than the sources' whole file systems hold, nothing is walked;
 * - a later backup needs about as much as the most any of its recent runs added.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '@haven/plugin-api';
import { compilePatterns, type PathPatterns } from '../engine/path-patterns.js';
import { SkippedError } from '../errors.js';
import type { RepositoryStore } from '../storage/repository-store.js';
import { formatBytes } from '../util/format-bytes.js';

export class NotEnoughSpaceError extends SkippedError {}

export interface SpaceNeed {
  bytes: number;
  /** How the figure was reached, for the message. */
  basis: string;
}

/** How many of a task's latest runs the estimate of a later backup looks at. */
export const RECENT_RUNS = 5;

/** Bytes in use on the file systems holding the sources: an upper bound of their size. */
async function usedOnSourceFileSystems(sources: readonly string[]): Promise<number> {
  const seen = new Set<bigint | number>();
  let used = 0;
  for (const source of sources) {
    const st = await fs.stat(source).catch(() => null);
    if (!st || seen.has(st.dev)) continue;
    seen.add(st.dev);
    const fsInfo = await fs.statfs(source);
    used += (fsInfo.blocks - fsInfo.bfree) * fsInfo.bsize;
  }
  return used;
}

/** Size of the regular files below the sources, excludes applied. */
async function sourceBytes(sources: readonly string[], excludes: PathPatterns | null): Promise<number> {
  let total = 0;
  const pending = [...sources];
  while (pending.length) {
    const current = pending.pop()!;
    const st = await fs.lstat(current).catch(() => null);
    if (!st) continue;
    if (st.isFile()) total += st.size;
    else if (st.isDirectory()) {
      const names = await fs.readdir(current).catch(() => [] as string[]);
      for (const name of names) {
        const full = path.join(current, name);
        if (!excludes?.(full, name)) pending.push(full);
      }
    }
  }
  return total;
}

/** What a backup of `task` is expected to need, given the task's latest runs (newest first). */
export async function estimateSpaceNeed(
  task: { sources: readonly string[]; excludes: readonly string[] },
  latestRuns: readonly RunRecord[],
  free: number,
): Promise<SpaceNeed | null> {
  const done = latestRuns.filter((r) => (r.status === 'success' || r.status === 'partial') && r.snapshot);
  if (done.length) {
    const runs = done.length === 1 ? 'its last run' : `any of its last ${done.length} runs`;
    return { bytes: Math.max(...done.map((r) => r.bytesAdded)), basis: `as much as ${runs} added` };
  }
  if ((await usedOnSourceFileSystems(task.sources)) <= free) return null; // fits whatever the sources hold
  return {
    bytes: await sourceBytes(task.sources, compilePatterns([...task.excludes])),
    basis: 'a first backup: the size of its sources before compression and deduplication',
  };
}

/** Throws NotEnoughSpaceError when the store says it has less room than the run needs. */
export async function requireSpace(
  store: RepositoryStore,
  task: { sources: readonly string[]; excludes: readonly string[] },
  latestRuns: readonly RunRecord[],
): Promise<void> {
  const free = await store.freeSpace?.();
  if (free === undefined) return;
  const need = await estimateSpaceNeed(task, latestRuns, free);
  if (!need || need.bytes <= free) return;
  throw new NotEnoughSpaceError(
    `not enough space at ${store.description}: this run needs about ${formatBytes(need.bytes)} (${need.basis}), ${formatBytes(free)} free. ` +
      'Free some space (e.g. `haven forget --prune`), choose a larger destination, or run with --ignore-free-space if you know it fits.',
  );
}
