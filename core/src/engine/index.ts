/**
 * The backup engine's public facade: repositories, backup, restore, check, browsing.
 * The CLI and the task service call only these.
 */
import type { BlobStore } from '../api/storage.js';
import { acquireLock, listLocks, removeLocks, type LockHandle, type LockView } from '../repository/locks.js';
import { Repository } from '../repository/repository.js';
import type { ScryptParams } from '../repository/crypto.js';
import { runBackup, type BackupOptions, type BackupResult } from './backup.js';
import { runCheck, type CheckReport } from './check.js';
import { runRestore, type RestoreOptions, type RestoreResult } from './restore.js';

export { Repository } from '../repository/repository.js';
export type { BackupOptions, BackupProgress, BackupResult } from './backup.js';
export type { RestoreOptions, RestoreResult } from './restore.js';
export type { CheckReport, CheckProblem } from './check.js';
export type { SnapshotInfo, EntryInfo } from './browse.js';
export { listSnapshots, listDir } from './browse.js';
export type { LockHandle, LockView } from '../repository/locks.js';

/** Creates a repository; `password: null` means unencrypted (explicit --no-encryption). */
export async function initRepository(store: BlobStore, opts: { password: string | null; scrypt?: ScryptParams }): Promise<Repository> {
  return Repository.init(store, opts.password, opts.scrypt);
}

/** Opens a repository (derives the key once) and loads its index. */
export async function openRepository(store: BlobStore, opts: { password: string | null }): Promise<Repository> {
  return Repository.open(store, opts.password);
}

export async function repositoryExists(store: BlobStore): Promise<boolean> {
  return Repository.exists(store);
}

export async function backup(repo: Repository, opts: BackupOptions): Promise<BackupResult> {
  return runBackup(repo, opts);
}

export async function restore(repo: Repository, opts: RestoreOptions): Promise<RestoreResult> {
  return runRestore(repo, opts);
}

export async function check(repo: Repository, opts: { readData: boolean }): Promise<CheckReport> {
  return runCheck(repo, opts);
}

/**
 * Takes a repository lock for an operation of the caller (prune takes `exclusive: true`).
 * Throws RepositoryLockedError naming the holder (and saying when it is stale).
 * Released by handle.release() or repo.close().
 */
export async function lockRepository(repo: Repository, opts: { exclusive: boolean; purpose?: string }): Promise<LockHandle> {
  return acquireLock(repo, opts);
}

/** Every lock in the repository, with staleness. */
export async function listRepositoryLocks(repo: Repository): Promise<LockView[]> {
  return listLocks(repo);
}

/** `haven unlock`: removes stale locks (every other lock with `all`); returns what it removed. */
export async function unlockRepository(repo: Repository, opts: { all?: boolean } = {}): Promise<LockView[]> {
  return removeLocks(repo, opts);
}
