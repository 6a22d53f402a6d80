/**
 * An advisory lock file, for read-modify-write of state files and for "the same task never
 * runs twice at once".
 *
 * Taking the lock is atomic and the lock never exists without its owner record: the record
 * is written to a uniquely named temp file first and then hard-linked to the lock name
 * (link() fails with EEXIST when the lock is held). So a reader that finds the lock always
 * finds who holds it; there is no window in which a half-written lock looks abandoned.
 *
 * A lock is stale only when its owner is known to be gone: a dead pid on this host, or, for an
 * owner on another host (shared state folder) or an unreadable lock, an mtime older than
 * STALE_AFTER_MS; holders refresh the mtime while they hold the lock so a long run on another
 * host is never mistaken for an abandoned one. Removing a stale lock is serialised by a
 * second lock (`LOCK.takeover`) and removes the lock only if it is still the exact stale
 * record seen (same nonce), so a fresh lock another process has just taken is never removed.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureStateDir } from './state-dir.js';
import { isStampAlive, ownStamp, type ProcessStamp } from './process-identity.js';

export { isProcessAlive } from './process-identity.js';

export interface LockOwner extends ProcessStamp {
  pid: number;
  host: string;
  since: string;
  purpose: string;
  /** Unique per acquisition: tells a lock from a later lock of the same process. */
  nonce: string;
}

/** Age after which a lock whose owner we cannot check (other host, unreadable) is stale. */
export const STALE_AFTER_MS = 10 * 60_000;
/** Holders touch their lock this often, well inside STALE_AFTER_MS. */
const REFRESH_EVERY_MS = 60_000;
/** A takeover takes milliseconds; a takeover lock this old was left by a crash. */
const TAKEOVER_STALE_MS = 30_000;

type Held = { release: () => Promise<void> };

/** What is at the lock path now: nothing, an owner record, or something we cannot parse. */
type Found = { kind: 'none' } | { kind: 'owner'; owner: LockOwner; mtimeMs: number } | { kind: 'unreadable'; text: string; mtimeMs: number };

async function inspect(file: string): Promise<Found> {
  let text: string;
  let mtimeMs: number;
  try {
    // stat before read: a lock replaced in between is then judged by the older, smaller age.
    mtimeMs = (await fs.stat(file)).mtimeMs;
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw err;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (typeof owner?.pid === 'number' && typeof owner.nonce === 'string') return { kind: 'owner', owner, mtimeMs };
  } catch {
    // fall through: damaged by hand or by a disk problem; judged by age only
  }
  return { kind: 'unreadable', text, mtimeMs };
}

function isStale(found: Found, now = Date.now()): boolean {
  if (found.kind === 'none') return false;
  if (found.kind === 'owner' && found.owner.host === os.hostname()) return !isStampAlive(found.owner);
  return now - found.mtimeMs > STALE_AFTER_MS;
}

function sameLock(a: Found, b: Found): boolean {
  if (a.kind === 'owner' && b.kind === 'owner') return a.owner.nonce === b.owner.nonce;
  if (a.kind === 'unreadable' && b.kind === 'unreadable') return a.text === b.text && a.mtimeMs === b.mtimeMs;
  return false;
}

/**
 * One atomic attempt: owner record to a unique temp file, link it to `file`. Returns the
 * owner on success, undefined when `file` exists.
 */
async function linkLock(file: string, purpose: string): Promise<LockOwner | undefined> {
  const owner: LockOwner = { ...ownStamp(), host: os.hostname(), since: new Date().toISOString(), purpose, nonce: randomBytes(8).toString('hex') };
  const temp = `${file}.${owner.nonce}.tmp`;
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.chmod(0o600); // exact, whatever the umask
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temp, file);
    return owner;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** Removes `file` only if it still holds `stale`, under the takeover lock. */
async function takeOver(file: string, stale: Found): Promise<void> {
  const takeoverFile = `${file}.takeover`;
  const mine = await linkLock(takeoverFile, 'stale lock takeover');
  if (!mine) {
    // Someone else is taking over right now; only a takeover lock left by a crash is removed.
    const other = await inspect(takeoverFile);
    if (other.kind !== 'none' && Date.now() - other.mtimeMs > TAKEOVER_STALE_MS) await fs.rm(takeoverFile, { force: true });
    return;
  }
  try {
    const now = await inspect(file);
    if (sameLock(now, stale) && isStale(now)) await fs.rm(file, { force: true });
  } finally {
    await removeIfMine(takeoverFile, mine);
  }
}

async function removeIfMine(file: string, owner: LockOwner): Promise<void> {
  const found = await inspect(file);
  if (found.kind === 'owner' && found.owner.nonce === owner.nonce) await fs.rm(file, { force: true });
}

function held(file: string, owner: LockOwner): Held {
  // Keep the mtime fresh so the age rule never applies to a live holder on another host.
  const timer = setInterval(() => {
    const now = new Date();
    fs.utimes(file, now, now).catch(() => undefined);
  }, REFRESH_EVERY_MS);
  timer.unref();
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      // Never remove a lock that is no longer ours (taken over after we were judged stale).
      await removeIfMine(file, owner);
    },
  };
}

/** Tries once to take the lock (past a stale one); returns the live owner when someone else holds it. */
export async function tryLock(file: string, purpose: string): Promise<Held | { heldBy: LockOwner }> {
  await ensureStateDir(path.dirname(file));
  // Retries only while a stale lock is being removed (by us or by another process); a
  // takeover left half done by a crash is cleared after TAKEOVER_STALE_MS, hence the bound.
  const deadline = Date.now() + TAKEOVER_STALE_MS + 5_000;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const owner = await linkLock(file, purpose);
    if (owner) return held(file, owner);
    const found = await inspect(file);
    if (found.kind === 'none') continue; // released in between: try again
    if (!isStale(found)) {
      if (found.kind === 'owner') return { heldBy: found.owner };
      // Unreadable but recent: report it as held by an unknown owner rather than guess.
      return { heldBy: { pid: 0, host: '?', since: new Date(found.mtimeMs).toISOString(), purpose: 'unknown (unreadable lock file)', nonce: '' } };
    }
    await takeOver(file, found);
    if (attempt > 0) await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
  }
  throw new Error(`could not take lock ${file}`);
}

/** Waits (briefly) for a lock, runs fn, releases. For short critical sections only. */
export async function withLock<T>(file: string, purpose: string, fn: () => Promise<T>, waitMs = 30_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await tryLock(file, purpose);
    if ('release' in result) {
      try {
        return await fn();
      } finally {
        await result.release();
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`${file} is locked by process ${result.heldBy.pid} (${result.heldBy.purpose}) since ${result.heldBy.since}`);
    }
    // Jitter so many waiters do not retry in lockstep.
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
  }
}
