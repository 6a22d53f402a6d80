/**
 * The work done on a task's repository once the caller's right to it was granted: back up,
 * list versions, browse, restore, check, unlock, repair — and the check of the paths a task
 * being created or edited names (its destination through its provider's code). It holds no access rules (the services
 * asked them before) and touches no Haven state (task store, run history): so it can run
 * wherever the operating system should decide what it may read and write.
 *
 * Where it runs is a WorkPlacement: in personal mode, in the command's own process (already
 * the user's); in system mode, in a per-user worker process (service/worker-placement.ts) that
 * has become `runAs` before any plugin code for the task is loaded.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import type { RunRecord } from '@haven/plugin-api';
import { HookSetId, PluginHost as PluginHostId, RepositoryService as RepositoryServiceId } from '../di/service-identifiers.js';
import type { HookSet } from '../hooks/hook-set.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { CallerEnvironment } from '../auth/caller.js';
import {
  backup,
  check,
  forget,
  prune,
  type ForgetResult,
  type PruneReport,
  type RetentionPolicy,
  listDir,
  listSnapshots,
  repairConfig,
  repairIndex,
  repairSnapshots,
  restore,
  unlockRepository,
  type BackupProgress,
  type BackupResult,
  type CheckOptions,
  type CheckReport,
  type ConfigRepair,
  type EntryInfo,
  type IndexRepair,
  type LockView,
  type Repository,
  type RestoreOptions,
  type RestoreResult,
  type SnapshotRepairReport,
} from '../engine/index.js';
import { DeniedError, PluginFailedError, UsageError } from '../errors.js';
import { warn } from '../util/logger.js';
import { RetryingBlobStore } from '../storage/retrying-store.js';
import type { RepositoryService } from './repository-access.js';
import { requireSpace } from './space-check.js';
import { validatePasswordFile, validateSources } from './task-validation.js';
import { runShellCommand, type CommandOutcome } from './task-commands.js';
import { parseDestination, type Task, type TaskOwner } from './task.js';

export type SnapshotListing = Awaited<ReturnType<typeof listSnapshots>>;

/** What a backup needs beyond the task: decided by the run service before the work starts. */
export interface BackupWork {
  op: 'backup';
  runId: string;
  /** Who started the run (recorded in the version). */
  startedBy: string;
  /** Why a repository must already be there (see OpenOptions.expectRepository). */
  expectRepository?: string;
  ignoreFreeSpace?: boolean;
  /** The task's latest runs, for the free-space estimate. */
  latestRuns: RunRecord[];
}

export type RepositoryWork =
  | BackupWork
  | { op: 'snapshots' }
  | { op: 'ls'; snapshot: string; dir?: string }
  | { op: 'restore'; options: Omit<RestoreOptions, 'taskId' | 'onProgress'> }
  | { op: 'check'; options: CheckOptions }
  | { op: 'unlock'; all: boolean }
  | { op: 'repairConfig' }
  | { op: 'repairIndex' }
  | { op: 'repairSnapshots'; dryRun: boolean }
  | TaskPathsWork
  /** Removes the versions a policy does not keep ('everything': all the task's), then prunes when asked. */
  | { op: 'forget'; policy: RetentionPolicy | 'everything'; dryRun: boolean; prune: boolean | 'if-forgotten' }
  /** One of the task's own commands (--before, --after, --notify-command), with HAVEN_* variables. */
  | { op: 'command'; command: string; variables: Record<string, string>; stdin?: string };

/**
 * What a task being created or edited names, checked with the rights of the user doing it:
 * sources that exist, a private password file, a destination its provider accepts (and its
 * advice on the sources). Each given field comes back absolute or normalised.
 */
export interface TaskPathsWork {
  op: 'taskPaths';
  /** Relative paths are the caller's, from here. */
  cwd: string;
  sources?: string[];
  /** The task's sources when `sources` is not given: what the destination's advice is about. */
  knownSources?: string[];
  destination?: string;
  passwordFile?: string;
}

export interface TaskPaths {
  sources?: string[];
  destination?: string;
  passwordFile?: string;
}

/** A backup's outcome as the run record needs it. */
export interface BackupWorkResult extends Pick<BackupResult, 'snapshotId' | 'files' | 'bytesRead' | 'bytesAdded' | 'errors' | 'skippedSpecial' | 'warnings'> {
  /** Store calls that needed more than one attempt. */
  retries?: number;
}

interface WorkResults {
  backup: BackupWorkResult;
  snapshots: SnapshotListing;
  ls: EntryInfo[];
  restore: RestoreResult;
  check: CheckReport;
  unlock: LockView[];
  repairConfig: ConfigRepair;
  repairIndex: IndexRepair;
  repairSnapshots: SnapshotRepairReport;
  taskPaths: TaskPaths;
  command: CommandOutcome;
  forget: ForgetOutcome;
}

export interface ForgetOutcome {
  forget: ForgetResult;
  /** Set when a prune was asked for and there was something to prune. */
  prune?: PruneReport;
}

export type WorkResult<W extends RepositoryWork> = WorkResults[W['op']];

export interface WorkRequest<W extends RepositoryWork = RepositoryWork> {
  /** The task worked on (every work but `taskPaths`, which checks what a task will name). */
  task?: Task;
  /** Whose rights the work runs with (system mode; personal mode is the user's already). */
  runAs: TaskOwner;
  /** The caller's environment: the repository password and the provider's credentials. */
  env: CallerEnvironment;
  /** The caller's uid: a worker for another user receives only the password of `env`. */
  callerUid: number;
  work: W;
}

export interface WorkEvents {
  onProgress?: (p: BackupProgress) => void;
  /** A backup's version exists (the run record names it from now on). */
  onSnapshotSaved?: (id: string) => void;
  /** Abandons in-flight store calls; the repository stays valid, its lock is released. */
  signal?: AbortSignal;
}

export interface WorkPlacement {
  perform<W extends RepositoryWork>(request: WorkRequest<W>, events: WorkEvents): Promise<WorkResult<W>>;
}

/**
 * A clear refusal up front when the restore's user cannot write where they restore to; the
 * operating system enforces the same when the files are written (the work runs as them).
 */
function requireWritable(target: string): void {
  let dir = path.resolve(target);
  while (!existsSync(dir)) dir = path.dirname(dir);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new DeniedError(`denied: you cannot write to ${dir}`);
  }
}

/** `TYPE:LOCATION` as its provider validates and normalises it; its advice on `sources` is shown as a warning. */
async function checkDestination(plugins: PluginHost, text: string, sources: string[] | undefined): Promise<string> {
  const { type, location } = parseDestination(text);
  if (!type) throw new UsageError(`destination "${text}" must be TYPE:LOCATION, e.g. local:/srv/backup/haven`);
  const provider = await plugins.storageProvider(type).catch((err: Error & { exitCode?: number }) => {
    // At creation, an unusable provider is bad input — unless its code failed, which is a
    // failure of that plugin, not of what the user typed.
    if (err instanceof PluginFailedError) throw err;
    throw new UsageError(err.message);
  });
  let normalised: string;
  try {
    normalised = provider.validateLocation(location);
  } catch (err) {
    throw new UsageError(`destination "${text}": ${(err as Error).message}`);
  }
  if (sources) {
    const advice = await provider.adviseOn?.(normalised, sources).catch(() => undefined);
    if (advice) warn(advice);
  }
  return `${type}:${normalised}`;
}

async function checkTaskPaths(plugins: PluginHost, work: TaskPathsWork): Promise<TaskPaths> {
  const sources = work.sources ? validateSources(work.sources, work.cwd) : undefined;
  const destination = work.destination ? await checkDestination(plugins, work.destination, sources ?? work.knownSources) : undefined;
  const passwordFile = work.passwordFile ? validatePasswordFile(work.passwordFile, work.cwd) : undefined;
  return { ...(sources ? { sources } : {}), ...(destination ? { destination } : {}), ...(passwordFile ? { passwordFile } : {}) };
}

/** The work itself, in this process. */
@injectable()
export class InProcessWork implements WorkPlacement {
  constructor(
    @inject(RepositoryServiceId) private readonly repositories: RepositoryService,
    @inject(HookSetId) private readonly hooks: HookSet,
    @inject(PluginHostId) private readonly plugins: PluginHost,
  ) {}

  async perform<W extends RepositoryWork>(request: WorkRequest<W>, events: WorkEvents): Promise<WorkResult<W>> {
    return (await this.performAny(request as WorkRequest, events)) as WorkResult<W>;
  }

  private async performAny(request: WorkRequest, events: WorkEvents): Promise<WorkResults[keyof WorkResults]> {
    const { env, work } = request;
    if (work.op === 'taskPaths') return checkTaskPaths(this.plugins, work);
    if (work.op === 'command') {
      // The user's own environment (personal mode) or the worker's (system mode), plus the run's variables.
      return runShellCommand(work.command, { env: { ...process.env, ...work.variables }, stdin: work.stdin, signal: events.signal });
    }
    const task = request.task;
    if (!task) throw new Error(`repository work "${work.op}" needs its task`);
    const { signal } = events;
    switch (work.op) {
      case 'backup':
        return this.backup(task, env, work, events);
      case 'snapshots':
        return this.withRepository(task, env, signal, (repo) => listSnapshots(repo, { taskId: task.id }));
      case 'ls':
        return this.withRepository(task, env, signal, (repo) => listDir(repo, work.snapshot, work.dir, task.id));
      case 'restore': {
        const target = path.resolve(work.options.target);
        requireWritable(target);
        return this.withRepository(task, env, signal, (repo) => restore(repo, { ...work.options, target, taskId: task.id, onProgress: events.onProgress }));
      }
      case 'check':
        return this.withRepository(task, env, signal, (repo) => check(repo, work.options));
      case 'unlock':
        return this.withRepository(task, env, signal, (repo) => unlockRepository(repo, { all: work.all }));
      case 'repairConfig': {
        const { store, password } = await this.repositories.openStore(task, { create: false, env });
        try {
          return await repairConfig(store, { password });
        } finally {
          await store.close();
        }
      }
      case 'repairIndex':
        return this.withRepository(task, env, signal, (repo) => repairIndex(repo));
      case 'repairSnapshots':
        return this.withRepository(task, env, signal, (repo) => repairSnapshots(repo, { dryRun: work.dryRun }));
      case 'forget':
        return this.withRepository(task, env, signal, async (repo) => {
          const forgotten = await forget(repo, { taskId: task.id, policy: work.policy, dryRun: work.dryRun });
          // Asked for, a prune runs even when nothing was forgotten now (versions forgotten
          // before may have left data); after a run, only when this forget removed something.
          const wanted = work.prune === true || (work.prune === 'if-forgotten' && forgotten.remove.length > 0);
          const pruned = wanted ? await prune(repo, { dryRun: work.dryRun, signal }) : undefined;
          return { forget: forgotten, ...(pruned ? { prune: pruned } : {}) };
        });
    }
  }

  /** Opens the task's repository (never creating one), runs fn, closes it, lock released. */
  private async withRepository<T>(task: Task, env: CallerEnvironment, signal: AbortSignal | undefined, fn: (repo: Repository) => Promise<T>): Promise<T> {
    const repo = await this.repositories.open(task, { create: false, env, signal });
    try {
      return await fn(repo);
    } finally {
      if (repo.store instanceof RetryingBlobStore) repo.store.endCancellation();
      await repo.close();
    }
  }

  private async backup(task: Task, env: CallerEnvironment, work: BackupWork, events: WorkEvents): Promise<BackupWorkResult> {
    // Plugins that tap the scan and copy hooks must be active where the files are read.
    await this.plugins.activateForRun();
    const repository = await this.repositories.open(task, { create: true, env, signal: events.signal, expectRepository: work.expectRepository });
    try {
      if (!work.ignoreFreeSpace) await requireSpace(repository.store, task, work.latestRuns);
      const result = await backup(repository, {
        sources: task.sources,
        excludes: task.excludes,
        meta: { taskId: task.id, task: task.name, runId: work.runId, host: os.hostname(), user: work.startedBy },
        parent: 'auto',
        hooks: this.hooks,
        onProgress: events.onProgress,
        onSnapshotSaved: async (id) => events.onSnapshotSaved?.(id),
        signal: events.signal,
      });
      const { snapshotId, files, bytesRead, bytesAdded, errors, skippedSpecial, warnings } = result;
      const retries = repository.store instanceof RetryingBlobStore ? repository.store.retries : 0;
      return { snapshotId, files, bytesRead, bytesAdded, errors, skippedSpecial, warnings, ...(retries ? { retries } : {}) };
    } finally {
      // An interrupted run still releases its lock.
      if (repository.store instanceof RetryingBlobStore) repository.store.endCancellation();
      await repository.close();
    }
  }
}
