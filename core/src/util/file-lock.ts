/**
 * An advisory lock file (O_EXCL create) holding the owner's pid, for read-modify-write of
 * state files and for "the same task never runs twice at once". A lock left by a dead
 * process on this host is stale and is taken over; a live owner is reported.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface LockOwner {
  pid: number;
  since: string;
  purpose: string;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Tries once to take the lock; returns the live owner when someone else holds it. */
export async function tryLock(file: string, purpose: string): Promise<{ release: () => Promise<void> } | { heldBy: LockOwner }> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const owner: LockOwner = { pid: process.pid, since: new Date().toISOString(), purpose };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, JSON.stringify(owner), { flag: 'wx', mode: 0o600 });
      return { release: () => fs.rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let current: LockOwner | undefined;
    try {
      current = JSON.parse(await fs.readFile(file, 'utf8')) as LockOwner;
    } catch {
      current = undefined; // being written right now, or garbage from a crash
    }
    if (current && isProcessAlive(current.pid)) return { heldBy: current };
    if (!current) await new Promise((r) => setTimeout(r, 20));
    // Stale: the owner died without releasing. Remove and retry.
    if (!current || !isProcessAlive(current.pid)) await fs.rm(file, { force: true });
  }
  throw new Error(`could not take lock ${file}`);
}

/** Waits (briefly) for a lock, runs fn, releases. For short critical sections only. */
export async function withLock<T>(file: string, purpose: string, fn: () => Promise<T>, waitMs = 10_000): Promise<T> {
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
    await new Promise((r) => setTimeout(r, 50));
  }
}
