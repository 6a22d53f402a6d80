/**
 * Repository locks: `locks/<id>` blobs (sealed JSON) naming host, pid, user and times.
 * Shared locks (backup, restore, check) coexist; an exclusive lock (prune, unlock of others)
 * excludes every other lock. A lock is refreshed every 5 minutes while held; it is stale when
 * its process is gone (same host, pid not alive) or it was not refreshed for 30 minutes.
 * Stale locks are never ignored silently: they are reported by check, and a stale lock that
 * blocks an operation is named in the error.
 */
import * as os from 'node:os';
import { RepositoryLockedError } from '../errors.js';
import { isStampAlive, ownStamp } from '../util/process-identity.js';
import { warn } from '../util/logger.js';
import { type Repository, safeUser, mapLimit } from './repository.js';

export const STALE_AFTER_MS = 30 * 60 * 1000;
export const REFRESH_EVERY_MS = 5 * 60 * 1000;
/** How long a store with eventual list-after-write consistency is given before locks are listed again. */
export const EVENTUAL_LIST_LAG_MS = 2000;

export interface LockRecord {
  exclusive: boolean;
  host: string;
  pid: number;
  /** Boot id and start time of the process (Linux), so a pid reused after a reboot is not taken for the holder. */
  boot?: string;
  started?: string;
  user: string;
  time: string;
  refreshed: string;
  /** What holds it, e.g. "backup". */
  purpose?: string;
}

export interface LockView {
  /** Blob name, `locks/<id>`. */
  name: string;
  id: string;
  record: LockRecord | null;
  /** Why it is stale, or null when live. */
  stale: string | null;
}

export interface LockHandle {
  /** The lock blob; changes when a refresh on a store without atomic replace writes a new one. */
  readonly name: string;
  exclusive: boolean;
  release(): Promise<void>;
}

export function staleReason(rec: LockRecord, now = Date.now()): string | null {
  if (rec.host === os.hostname() && !isStampAlive(rec)) return `process ${rec.pid} on ${rec.host} is no longer running`;
  const refreshed = Date.parse(rec.refreshed || rec.time);
  if (!Number.isFinite(refreshed)) return 'lock has no valid time';
  if (now - refreshed > STALE_AFTER_MS) return `not refreshed since ${new Date(refreshed).toISOString()} (over 30 minutes)`;
  return null;
}

export async function listLocks(repo: Repository): Promise<LockView[]> {
  const infos = await repo.store.list('locks/');
  const out: LockView[] = [];
  await mapLimit(infos, 8, async (info) => {
    const id = info.name.slice('locks/'.length);
    let record: LockRecord | null = null;
    try {
      record = await repo.loadJson<LockRecord>(info.name);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return; // released meanwhile
      out.push({ name: info.name, id, record: null, stale: 'unreadable lock blob' });
      return;
    }
    out.push({ name: info.name, id, record, stale: staleReason(record) });
  });
  return out;
}

function describe(l: LockView): string {
  const r = l.record;
  if (!r) return `lock ${l.id} (unreadable)`;
  return `${r.exclusive ? 'exclusive' : 'shared'} lock ${l.id.slice(0, 8)} held by ${r.user} (pid ${r.pid} on ${r.host}${r.purpose ? `, ${r.purpose}` : ''}) since ${r.time}`;
}

function conflicts(exclusive: boolean, other: LockView): boolean {
  if (exclusive) return true;
  return other.record === null || other.record.exclusive;
}

function blockError(l: LockView): RepositoryLockedError {
  if (l.stale) {
    return new RepositoryLockedError(
      `the repository is blocked by a stale ${describe(l)}: ${l.stale}. If no other Haven process uses this repository, remove it with \`haven unlock\``,
    );
  }
  return new RepositoryLockedError(`the repository is locked: ${describe(l)}`);
}

export async function acquireLock(repo: Repository, opts: { exclusive: boolean; purpose?: string }): Promise<LockHandle> {
  const before = await listLocks(repo);
  const blocking = before.find((l) => !repo.heldLocks.has(l.name) && conflicts(opts.exclusive, l));
  if (blocking) throw blockError(blocking);
  const now = new Date().toISOString();
  const record: LockRecord = {
    exclusive: opts.exclusive,
    host: os.hostname(),
    ...ownStamp(),
    user: safeUser(),
    time: now,
    refreshed: now,
    purpose: opts.purpose,
  };
  const { name } = await repo.saveJson('locks', record);
  repo.heldLocks.add(name);
  // Someone may have locked at the same moment: look again now that ours is visible — on a
  // store whose listing lags behind its writes, only after the lag.
  if (repo.store.capabilities?.listAfterWrite === 'eventual') await new Promise((r) => setTimeout(r, EVENTUAL_LIST_LAG_MS));
  const after = await listLocks(repo);
  const raced = after.find((l) => l.name !== name && !repo.heldLocks.has(l.name) && (conflicts(opts.exclusive, l) || (l.record?.exclusive ?? false)));
  if (raced) {
    repo.heldLocks.delete(name);
    await repo.store.delete(name);
    throw blockError(raced);
  }
  const handle = { name, exclusive: opts.exclusive, release: async (): Promise<void> => undefined };
  const timer = setInterval(() => void refreshLock(repo, handle, record).catch(() => undefined), REFRESH_EVERY_MS);
  timer.unref();
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    clearInterval(timer);
    // Forgotten only once deleted: a release that failed (a cancelled call after Ctrl-C) is
    // tried again by repo.close().
    await repo.store.delete(handle.name);
    released = true;
    repo.heldLocks.delete(handle.name);
    repo.closers.delete(release);
  };
  handle.release = release;
  repo.closers.add(release);
  return handle;
}

/**
 * Marks a held lock as alive. Where `put` replaces atomically the lock blob is rewritten; on a
 * store that cannot (capabilities.atomicReplace false) a reader could catch it half-written and
 * see an unreadable lock, so a new lock blob is written and the old one deleted after it: for a
 * moment both exist, which only ever makes others wait, never proceed.
 */
export async function refreshLock(repo: Repository, handle: { name: string }, record: LockRecord): Promise<void> {
  record.refreshed = new Date().toISOString();
  const id = handle.name.slice('locks/'.length);
  if (repo.store.capabilities?.atomicReplace !== false) {
    await repo.saveJson('locks', record, id);
    return;
  }
  const { name } = await repo.saveJson('locks', record);
  const old = handle.name;
  repo.heldLocks.add(name);
  handle.name = name;
  await repo.store.delete(old);
  repo.heldLocks.delete(old);
}

/** Runs fn holding an exclusive lock (repairs, prune), released whatever happens. */
export async function withExclusiveLock<T>(repo: Repository, purpose: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(repo, { exclusive: true, purpose });
  try {
    return await fn();
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** Removes stale locks (or every lock but ours with `all`); returns the ones removed. */
export async function removeLocks(repo: Repository, opts: { all?: boolean } = {}): Promise<LockView[]> {
  const removed: LockView[] = [];
  for (const l of await listLocks(repo)) {
    if (repo.heldLocks.has(l.name)) continue;
    if (opts.all || l.stale) {
      await repo.store.delete(l.name);
      removed.push(l);
    }
  }
  return removed;
}

/** Write errors that mean the store cannot be written now, not that something is wrong with it. */
const CANNOT_WRITE = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']);

export interface ReadLock {
  release(): Promise<void>;
  /** Why this operation reads without a lock (null: it holds a shared lock). */
  lockFree: string | null;
}

/**
 * A shared lock for an operation that only reads (restore, check): taken when it can be,
 * skipped when asked (`--no-lock`) or when the store cannot be written (a read-only drive, a
 * full disk, no write permission), so reading never needs writing. A lock held by someone
 * else still stops it. Reading without a lock is said on stderr: a prune running meanwhile
 * could remove what is being read.
 */
export async function lockForReading(repo: Repository, purpose: string, opts: { noLock?: boolean } = {}): Promise<ReadLock> {
  const unlocked = (why: string): ReadLock => {
    warn(`reading the repository at ${repo.store.description} without a lock: ${why}`);
    return { release: async () => undefined, lockFree: why };
  };
  if (opts.noLock) return unlocked('asked for (--no-lock)');
  try {
    const handle = await acquireLock(repo, { exclusive: false, purpose });
    return { release: handle.release, lockFree: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && CANNOT_WRITE.has(code)) {
      return unlocked(`the lock cannot be written (${code}: ${code === 'EROFS' ? 'read-only medium' : code === 'ENOSPC' || code === 'EDQUOT' ? 'no space left' : 'no write permission'})`);
    }
    throw err;
  }
}
