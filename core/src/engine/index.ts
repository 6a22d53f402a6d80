/**
 * The backup engine's public facade: repositories, backup, restore, check, browsing.
 * The CLI and the task service call only these.
 */
import type { RepositoryStore } from '../storage/repository-store.js';
import { acquireLock, listLocks, removeLocks, type LockHandle, type LockView } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import {
  initRepository as createRepository,
  openOrInitRepository as openOrCreate,
  openRepository as openExisting,
  repairConfig as rebuildConfig,
  repositoryExists as configExists,
  findRepositoryData,
  type ConfigRepair,
  type CreateOptions,
} from '../repository/repository-lifecycle.js';
import { runBackup, type BackupOptions, type BackupResult } from './backup.js';
import { runCheck, type CheckOptions, type CheckReport } from './check.js';
import { runRestore, type RestoreOptions, type RestoreResult } from './restore.js';
import { runRepairIndex, runRepairSnapshots, type SnapshotRepairReport } from './repair.js';
import type { IndexRepair } from '../repository/index-maintenance.js';

export { Repository } from '../repository/repository.js';
export type { ConfigRepair, CreateOptions } from '../repository/repository-lifecycle.js';
export type { BackupOptions, BackupProgress, BackupResult } from './backup.js';
export type { RestoreOptions, RestoreResult } from './restore.js';
export type { CheckReport, CheckProblem, CheckOptions } from './check.js';
export type { SnapshotRepairReport, RepairedSnapshot } from './repair.js';
export type { IndexRepair } from '../repository/index-maintenance.js';
export type { SnapshotInfo, EntryInfo } from './browse.js';
export { listSnapshots, listDir } from './browse.js';
export type { ForgetOptions, ForgetResult, ForgetEntry } from './forget.js';
export type { PruneOptions, PruneReport } from './prune.js';
export type { RetentionPolicy, Duration } from '../retention/retention-policy.js';
export { applyPolicy, parseDuration, validatePolicy } from '../retention/retention-policy.js';
/** `haven forget`: removes the snapshots a retention policy does not keep (exclusive lock; a dry run only reads). */
export { forget } from './forget.js';
/** `haven prune`: removes the data no snapshot needs (exclusive lock; safe to interrupt at any point). */
export { prune, DEFAULT_MAX_UNUSED_FRACTION } from './prune.js';
export type { LockHandle, LockView } from '../repository/locks.js';

/**
 * Creates a repository; `password: null` means unencrypted (explicit --no-encryption).
 * Exclusive: RepositoryExistsError when one exists or another process created it first.
 */
export async function initRepository(store: RepositoryStore, opts: { password: string | null } & CreateOptions): Promise<Repository> {
  return createRepository(store, opts.password, opts);
}

/** Opens a repository (derives the key once) and loads its index. */
export async function openRepository(store: RepositoryStore, opts: { password: string | null }): Promise<Repository> {
  return openExisting(store, opts.password);
}

/** Opens the repository, or creates it when there is none; a creation lost to another process opens the winner's. */
export async function openOrInitRepository(store: RepositoryStore, opts: { password: string | null } & CreateOptions): Promise<Repository> {
  return openOrCreate(store, opts.password, opts);
}

export async function repositoryExists(store: RepositoryStore): Promise<boolean> {
  return configExists(store);
}

/** Whether a destination holds anything of a repository (snapshots, index, packs, config copy), config or not. */
export async function holdsRepositoryData(store: RepositoryStore): Promise<boolean> {
  return (await configExists(store)) || (await findRepositoryData(store)) !== null;
}

/** `haven repair config`: writes a lost config again from its copy or a key file. */
export async function repairConfig(store: RepositoryStore, opts: { password: string | null }): Promise<ConfigRepair> {
  return rebuildConfig(store, opts.password);
}

export async function backup(repo: Repository, opts: BackupOptions): Promise<BackupResult> {
  return runBackup(repo, opts);
}

export async function restore(repo: Repository, opts: RestoreOptions): Promise<RestoreResult> {
  return runRestore(repo, opts);
}

export async function check(repo: Repository, opts: CheckOptions): Promise<CheckReport> {
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

/** `haven repair index`: rebuilds the index from the packs present (exclusive lock). */
export async function repairIndex(repo: Repository): Promise<IndexRepair> {
  return runRepairIndex(repo);
}

/** `haven repair snapshots`: rewrites versions around lost data, marking what was lost (exclusive lock). */
export async function repairSnapshots(repo: Repository, opts: { dryRun: boolean }): Promise<SnapshotRepairReport> {
  return runRepairSnapshots(repo, opts);
}
