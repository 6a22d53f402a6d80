/**
 * Forget: removes the snapshot records a retention policy does not keep, task by task. Only
 * the records go; the data they alone used stays until a prune (prune.ts).
 *
 * Deleting takes the repository's exclusive lock (no backup may be choosing a parent, no
 * restore reading a record meanwhile); a dry run only reads and takes a shared one. A snapshot
 * blob that cannot be read is never removed: its task and time are inside it, so no rule can
 * judge it. It is reported instead.
 */
import { acquireLock } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import { applyPolicy, validatePolicy, type RetentionPolicy } from '../retention/retention-policy.js';
import { checkTimeZone } from '../retention/calendar.js';
import { loadAllSnapshots } from './snapshots.js';

export interface ForgetOptions {
  /** The task whose snapshots the policy applies to; all tasks (each on its own) when undefined. */
  taskId?: string;
  /** `'everything'`: remove every snapshot of the task (`task delete --purge`; needs `taskId`). */
  policy: RetentionPolicy | 'everything';
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean;
  /** IANA zone whose calendar the rules use (default: the process's local zone). */
  timeZone?: string;
}

export interface ForgetEntry {
  id: string;
  time: string;
  taskId: string;
}

export interface ForgetResult {
  dryRun: boolean;
  /** Snapshots kept, newest first, with the rules that kept each. */
  keep: Array<ForgetEntry & { reasons: string[] }>;
  /** Snapshots removed (on a dry run: that would be), newest first. */
  remove: ForgetEntry[];
  /** Snapshot blobs that cannot be read: never removed. */
  damaged: Array<{ id: string; message: string }>;
}

/** Newest first across tasks (as each task's outcome is ordered); a time that cannot be read last. */
function newestFirst(a: ForgetEntry, b: ForgetEntry): number {
  const ta = Date.parse(a.time);
  const tb = Date.parse(b.time);
  if (Number.isNaN(ta) !== Number.isNaN(tb)) return Number.isNaN(ta) ? 1 : -1;
  return (tb - ta || 0) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export async function forget(repo: Repository, opts: ForgetOptions): Promise<ForgetResult> {
  // Bad input is refused before the repository is locked or read.
  if (opts.policy === 'everything') {
    if (opts.taskId === undefined) throw new Error('forgetting everything needs a task');
  } else validatePolicy(opts.policy);
  checkTimeZone(opts.timeZone);
  const dryRun = opts.dryRun ?? false;
  const lock = await acquireLock(repo, { exclusive: !dryRun, purpose: dryRun ? 'forget (dry run)' : 'forget' });
  try {
    const { snapshots, damaged } = await loadAllSnapshots(repo);
    const groups = new Map<string, ForgetEntry[]>();
    for (const { id, snap } of snapshots) {
      if (opts.taskId !== undefined && snap.taskId !== opts.taskId) continue;
      let group = groups.get(snap.taskId);
      if (!group) groups.set(snap.taskId, (group = []));
      group.push({ id, time: snap.time, taskId: snap.taskId });
    }
    const result: ForgetResult = { dryRun, keep: [], remove: [], damaged };
    for (const group of groups.values()) {
      const outcome = opts.policy === 'everything' ? { keep: [], remove: group } : applyPolicy(group, opts.policy, { timeZone: opts.timeZone });
      result.keep.push(...outcome.keep);
      result.remove.push(...outcome.remove);
    }
    result.keep.sort(newestFirst);
    result.remove.sort(newestFirst);
    if (!dryRun) for (const s of result.remove) await repo.store.delete(`snapshots/${s.id}`);
    return result;
  } finally {
    await lock.release().catch(() => undefined);
  }
}
