/**
 * What a caller does with a task's repository besides running it: list versions, browse one,
 * restore, check, unlock, repair. Each operation takes the caller (who they are, and the
 * password and credentials they bring: auth/caller.ts), asks for its right once
 * (the built-in rules, then the authorization hook) and opens, uses and closes the repository.
 * The CLI only renders; a service serving many users calls the same methods per request.
 *
 * `signal` abandons in-flight store calls (Ctrl-C): the operation then fails, the repository
 * stays valid and its lock is still released.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import type { AuthAction } from '@haven/plugin-api';
import {
  Authorizer as AuthorizerId,
  RepositoryService as RepositoryServiceId,
  TaskService as TaskServiceId,
} from '../di/service-identifiers.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { Caller } from '../auth/caller.js';
import {
  check,
  listDir,
  listSnapshots,
  repairConfig,
  repairIndex,
  repairSnapshots,
  restore,
  unlockRepository,
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
import { DeniedError } from '../errors.js';
import { RetryingBlobStore } from '../storage/retrying-store.js';
import type { RepositoryService } from './repository-access.js';
import type { TaskService } from './task-service.js';
import type { Task } from './task.js';

export type SnapshotListing = Awaited<ReturnType<typeof listSnapshots>>;

export interface RepositoryOperations {
  snapshots(caller: Caller, name: string, signal?: AbortSignal): Promise<SnapshotListing>;
  ls(caller: Caller, name: string, snapshot: string, dir: string | undefined, signal?: AbortSignal): Promise<EntryInfo[]>;
  restore(caller: Caller, name: string, options: Omit<RestoreOptions, 'taskId'>, signal?: AbortSignal): Promise<RestoreResult>;
  check(caller: Caller, name: string, options: CheckOptions, signal?: AbortSignal): Promise<CheckReport>;
  unlock(caller: Caller, name: string, options: { all: boolean }, signal?: AbortSignal): Promise<LockView[]>;
  repairConfig(caller: Caller, name: string): Promise<ConfigRepair>;
  repairIndex(caller: Caller, name: string, signal?: AbortSignal): Promise<IndexRepair>;
  repairSnapshots(caller: Caller, name: string, options: { dryRun: boolean }, signal?: AbortSignal): Promise<SnapshotRepairReport>;
}

/**
 * A clear refusal up front when the caller cannot write where they restore to; the operating
 * system enforces the same when the files are written (in the caller's own process).
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

@injectable()
export class RepositoryOperationsImpl implements RepositoryOperations {
  constructor(
    @inject(TaskServiceId) private readonly tasks: TaskService,
    @inject(AuthorizerId) private readonly authorizer: Authorizer,
    @inject(RepositoryServiceId) private readonly repositories: RepositoryService,
  ) {}

  /** The task, once the caller has `action` on it (asked once: the operation's own right). */
  private async authorized(caller: Caller, name: string, action: AuthAction, target?: string): Promise<Task> {
    const task = await this.tasks.find(caller, name);
    await this.authorizer.require(caller, action, task, target);
    return task;
  }

  /** Opens the task's repository (never creating one), runs fn, closes it, lock released. */
  private async withRepository<T>(caller: Caller, task: Task, signal: AbortSignal | undefined, fn: (repo: Repository) => Promise<T>): Promise<T> {
    const repo = await this.repositories.open(task, { create: false, env: caller.env, signal });
    try {
      return await fn(repo);
    } finally {
      if (repo.store instanceof RetryingBlobStore) repo.store.endCancellation();
      await repo.close();
    }
  }

  async snapshots(caller: Caller, name: string, signal?: AbortSignal): Promise<SnapshotListing> {
    const task = await this.authorized(caller, name, 'task.read');
    return this.withRepository(caller, task, signal, (repo) => listSnapshots(repo, { taskId: task.id }));
  }

  async ls(caller: Caller, name: string, snapshot: string, dir: string | undefined, signal?: AbortSignal): Promise<EntryInfo[]> {
    const task = await this.authorized(caller, name, 'task.read');
    return this.withRepository(caller, task, signal, (repo) => listDir(repo, snapshot, dir, task.id));
  }

  async restore(caller: Caller, name: string, options: Omit<RestoreOptions, 'taskId'>, signal?: AbortSignal): Promise<RestoreResult> {
    const target = path.resolve(options.target);
    const task = await this.authorized(caller, name, 'restore', target);
    requireWritable(target);
    return this.withRepository(caller, task, signal, (repo) => restore(repo, { ...options, target, taskId: task.id }));
  }

  async check(caller: Caller, name: string, options: CheckOptions, signal?: AbortSignal): Promise<CheckReport> {
    const task = await this.authorized(caller, name, 'task.read');
    return this.withRepository(caller, task, signal, (repo) => check(repo, options));
  }

  async unlock(caller: Caller, name: string, options: { all: boolean }, signal?: AbortSignal): Promise<LockView[]> {
    const task = await this.authorized(caller, name, 'task.run');
    return this.withRepository(caller, task, signal, (repo) => unlockRepository(repo, options));
  }

  async repairConfig(caller: Caller, name: string): Promise<ConfigRepair> {
    const task = await this.authorized(caller, name, 'task.run');
    const { store, password } = await this.repositories.openStore(task, { create: false, env: caller.env });
    try {
      return await repairConfig(store, { password });
    } finally {
      await store.close();
    }
  }

  async repairIndex(caller: Caller, name: string, signal?: AbortSignal): Promise<IndexRepair> {
    const task = await this.authorized(caller, name, 'task.run');
    return this.withRepository(caller, task, signal, (repo) => repairIndex(repo));
  }

  async repairSnapshots(caller: Caller, name: string, options: { dryRun: boolean }, signal?: AbortSignal): Promise<SnapshotRepairReport> {
    const task = await this.authorized(caller, name, 'task.run');
    return this.withRepository(caller, task, signal, (repo) => repairSnapshots(repo, options));
  }
}
