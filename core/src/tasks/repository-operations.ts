/**
 * What a caller does with a task's repository besides running it: list versions, browse one,
 * restore, check, unlock, repair. Each operation takes the caller (who they are, and the
 * password and credentials they bring: auth/caller.ts), asks for its right once (the built-in
 * rules, then the authorization hook), then hands the work to the WorkPlacement
 * (repository-work.ts): in system mode a worker running as the task's owner — or, for a
 * restore, as the user who restores (an administrator's restore runs as root: into any folder).
 *
 * `signal` abandons in-flight store calls (Ctrl-C): the operation then fails, the repository
 * stays valid and its lock is still released.
 */
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import type { AuthAction } from '@haven/plugin-api';
import {
  Authorizer as AuthorizerId,
  TaskService as TaskServiceId,
  WorkPlacement as WorkPlacementId,
} from '../di/service-identifiers.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { Caller } from '../auth/caller.js';
import type {
  BackupProgress,
  CheckOptions,
  CheckReport,
  ConfigRepair,
  EntryInfo,
  IndexRepair,
  LockView,
  RestoreOptions,
  RestoreResult,
  SnapshotRepairReport,
} from '../engine/index.js';
import type { TaskService } from './task-service.js';
import { runAsOf, type TaskOwner } from './task.js';
import type { ForgetOutcome, RepositoryWork, SnapshotListing, WorkPlacement, WorkResult } from './repository-work.js';
import { isEmptyPolicy, type RetentionPolicy } from '../retention/retention-policy.js';
import { validateRetention } from './task-validation.js';
import { UsageError } from '../errors.js';

export type { SnapshotListing } from './repository-work.js';

export type RestoreRequest = Omit<RestoreOptions, 'taskId' | 'onProgress'> & { onProgress?: (p: BackupProgress) => void };

export interface RepositoryOperations {
  snapshots(caller: Caller, name: string, signal?: AbortSignal): Promise<SnapshotListing>;
  ls(caller: Caller, name: string, snapshot: string, dir: string | undefined, signal?: AbortSignal): Promise<EntryInfo[]>;
  restore(caller: Caller, name: string, options: RestoreRequest, signal?: AbortSignal): Promise<RestoreResult>;
  check(caller: Caller, name: string, options: CheckOptions, signal?: AbortSignal): Promise<CheckReport>;
  unlock(caller: Caller, name: string, options: { all: boolean }, signal?: AbortSignal): Promise<LockView[]>;
  repairConfig(caller: Caller, name: string): Promise<ConfigRepair>;
  repairIndex(caller: Caller, name: string, signal?: AbortSignal): Promise<IndexRepair>;
  repairSnapshots(caller: Caller, name: string, options: { dryRun: boolean }, signal?: AbortSignal): Promise<SnapshotRepairReport>;
  /**
   * Removes the task's versions its policy (or `policy`) does not keep, and with `prune` the data
   * no version needs any more. Only the task's owner may (`task.modify`).
   */
  forget(caller: Caller, name: string, options: { policy?: RetentionPolicy; dryRun: boolean; prune: boolean }, signal?: AbortSignal): Promise<ForgetOutcome>;
  /** Removes every version of the task and prunes (`task delete --purge`; `task.delete`). */
  purge(caller: Caller, name: string, signal?: AbortSignal): Promise<ForgetOutcome>;
}

const ROOT: TaskOwner = { uid: 0, name: 'root' };

@injectable()
export class RepositoryOperationsImpl implements RepositoryOperations {
  constructor(
    @inject(TaskServiceId) private readonly tasks: TaskService,
    @inject(AuthorizerId) private readonly authorizer: Authorizer,
    @inject(WorkPlacementId) private readonly placement: WorkPlacement,
  ) {}

  /**
   * Finds the task, asks for the caller's `action` on it (once: the operation's own right), and
   * performs `work` as `runAs` (default: whom the task runs as).
   */
  private async perform<W extends RepositoryWork>(
    caller: Caller,
    name: string,
    action: AuthAction,
    work: W,
    options: { signal?: AbortSignal; onProgress?: (p: BackupProgress) => void; target?: string; runAs?: TaskOwner } = {},
  ): Promise<WorkResult<W>> {
    const task = await this.tasks.find(caller, name);
    await this.authorizer.require(caller, action, task, options.target);
    const runAs = options.runAs ?? runAsOf(task, caller);
    return this.placement.perform({ task, runAs, env: caller.env, callerUid: caller.uid, work }, { signal: options.signal, onProgress: options.onProgress });
  }

  snapshots(caller: Caller, name: string, signal?: AbortSignal): Promise<SnapshotListing> {
    return this.perform(caller, name, 'task.read', { op: 'snapshots' }, { signal });
  }

  ls(caller: Caller, name: string, snapshot: string, dir: string | undefined, signal?: AbortSignal): Promise<EntryInfo[]> {
    return this.perform(caller, name, 'task.read', { op: 'ls', snapshot, dir }, { signal });
  }

  restore(caller: Caller, name: string, request: RestoreRequest, signal?: AbortSignal): Promise<RestoreResult> {
    const { onProgress, ...options } = request;
    const target = path.resolve(options.target);
    // A user restores with their own rights (the kernel decides where they may write); an
    // administrator restores into any folder.
    const runAs = caller.isAdmin ? ROOT : { uid: caller.uid, name: caller.name };
    return this.perform(caller, name, 'restore', { op: 'restore', options: { ...options, target } }, { signal, onProgress, target, runAs });
  }

  check(caller: Caller, name: string, options: CheckOptions, signal?: AbortSignal): Promise<CheckReport> {
    return this.perform(caller, name, 'task.read', { op: 'check', options }, { signal });
  }

  unlock(caller: Caller, name: string, options: { all: boolean }, signal?: AbortSignal): Promise<LockView[]> {
    return this.perform(caller, name, 'task.run', { op: 'unlock', all: options.all }, { signal });
  }

  repairConfig(caller: Caller, name: string): Promise<ConfigRepair> {
    return this.perform(caller, name, 'task.run', { op: 'repairConfig' });
  }

  repairIndex(caller: Caller, name: string, signal?: AbortSignal): Promise<IndexRepair> {
    return this.perform(caller, name, 'task.run', { op: 'repairIndex' }, { signal });
  }

  repairSnapshots(caller: Caller, name: string, options: { dryRun: boolean }, signal?: AbortSignal): Promise<SnapshotRepairReport> {
    return this.perform(caller, name, 'task.run', { op: 'repairSnapshots', dryRun: options.dryRun }, { signal });
  }

  async forget(caller: Caller, name: string, options: { policy?: RetentionPolicy; dryRun: boolean; prune: boolean }, signal?: AbortSignal): Promise<ForgetOutcome> {
    const given = options.policy ? validateRetention(options.policy) : undefined;
    const task = await this.tasks.find(caller, name);
    const policy = given && !isEmptyPolicy(given) ? given : task.retention;
    if (isEmptyPolicy(policy)) {
      throw new UsageError(`task "${name}" has no retention policy, and none was given: say what to keep (--keep-last, --keep-daily, … see "haven forget --help"), or set one with "haven task edit ${name} --keep-…"`);
    }
    return this.perform(caller, name, 'task.modify', { op: 'forget', policy, dryRun: options.dryRun, prune: options.prune }, { signal });
  }

  purge(caller: Caller, name: string, signal?: AbortSignal): Promise<ForgetOutcome> {
    return this.perform(caller, name, 'task.delete', { op: 'forget', policy: 'everything', dryRun: false, prune: true }, { signal });
  }
}
