/**
 * What prune does with each pack, decided from the blobs in use (a pure function).
 *
 * A used blob may be stored more than once (a backup and a killed prune both wrote it, or two
 * backups raced). One copy is chosen to stay, preferring a pack every blob of which is in use
 * (nothing to gain by touching it), then a pack the index lists; every other copy counts as
 * unused. Then each pack is:
 * - kept when all its blobs are the chosen copies;
 * - removed when none is;
 * - repacked (its chosen blobs copied into new packs, then the pack removed) when the unused
 *   blobs take more than `maxUnusedFraction` of its bytes, kept as it is otherwise: copying 90 %
 *   of a pack to win back 10 % costs far more than the space is worth, and the space is won
 *   back anyway by the prune after the one that makes the pack mostly unused.
 */
import type { PackEntry } from '../repository/pack.js';
import type { StoredPack } from '../repository/pack-inventory.js';

/** Default share of a pack's bytes that may be unused before prune repacks it. */
export const DEFAULT_MAX_UNUSED_FRACTION = 0.1;

export interface PackPlan {
  /** Packs that stay as they are (fully used, or partly used under the threshold). */
  keep: StoredPack[];
  /** Partly used packs over the threshold, with the blobs to copy out of each. */
  repack: Array<{ pack: StoredPack; blobs: PackEntry[] }>;
  /** Packs nothing uses. */
  remove: StoredPack[];
  /** Unused blob bytes left in kept packs (under the threshold). */
  unusedBytesKept: number;
}

/** Packs whose every blob is used, once: their copies are the ones to keep. */
function isWhollyUsed(pack: StoredPack, used: ReadonlySet<string>): boolean {
  const seen = new Set<string>();
  for (const e of pack.entries) {
    if (!used.has(e.id) || seen.has(e.id)) return false;
    seen.add(e.id);
  }
  return true;
}

export function planPrune(packs: readonly StoredPack[], used: ReadonlySet<string>, maxUnusedFraction = DEFAULT_MAX_UNUSED_FRACTION): PackPlan {
  const whole = new Set(packs.filter((p) => isWhollyUsed(p, used)).map((p) => p.id));
  const rank = (p: StoredPack): number => (whole.has(p.id) ? 0 : 2) + (p.indexed ? 0 : 1);
  /** Chosen copy of each used blob: "pack:offset". */
  const chosen = new Map<string, string>();
  for (const p of [...packs].sort((a, b) => rank(a) - rank(b))) {
    for (const e of p.entries) if (used.has(e.id) && !chosen.has(e.id)) chosen.set(e.id, `${p.id}:${e.offset}`);
  }

  const plan: PackPlan = { keep: [], repack: [], remove: [], unusedBytesKept: 0 };
  for (const pack of packs) {
    const blobs = pack.entries.filter((e) => chosen.get(e.id) === `${pack.id}:${e.offset}`);
    if (blobs.length === pack.entries.length) {
      plan.keep.push(pack);
      continue;
    }
    if (blobs.length === 0) {
      plan.remove.push(pack);
      continue;
    }
    const unused = pack.entries.reduce((sum, e) => sum + e.length, 0) - blobs.reduce((sum, e) => sum + e.length, 0);
    if (unused > maxUnusedFraction * pack.size) {
      plan.repack.push({ pack, blobs });
    } else {
      plan.keep.push(pack);
      plan.unusedBytesKept += unused;
    }
  }
  return plan;
}
