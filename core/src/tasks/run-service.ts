/**
 * Running a task: the overlap guard, the schedule hooks' veto, the provider, the engine, and
 * the run record every run leaves — whatever the outcome.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import type { RunRecord, RunRequest, RunTrigger } from '@haven/plugin-api';
import {
  HavenPaths as HavenPathsId,
  HookSetId,
  Authorizer as AuthorizerId,
  PluginHost as PluginHostId,
  WorkPlacement as WorkPlacementId,
  RunHistory as RunHistoryId,
} from '../di/service-identifiers.js';
import type { HavenPaths } from '../config/haven-paths.js';
import type { HookSet } from '../hooks/hook-set.js';
import type { Caller } from '../auth/caller.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { RunHistory } from '../history/run-history.js';
import type { RepositoryWork, WorkEvents, WorkPlacement, WorkResult } from './repository-work.js';
import type { BackupProgress } from '../engine/index.js';
import { ExitCode, HavenError, SkippedError, UsageError } from '../errors.js';
import { tryLock } from '../util/file-lock.js';
import { RECENT_RUNS } from './space-check.js';
import { parseDestination, runAsOf, type Task } from './task.js';
import { describeOutcome } from './task-commands.js';
import { isEmptyPolicy } from '../retention/retention-policy.js';
import { isSystemRoot } from './task-validation.js';

export interface RunOptions {
  trigger: RunTrigger;
  onProgress?: (p: BackupProgress) => void;
  /** Aborts the backup (Ctrl-C, service shutdown); the repository stays valid. */
  signal?: AbortSignal;
  /** Runs even when the destination reports less free space than the run is expected to need. */
  ignoreFreeSpace?: boolean;
  /** Starts a new repository even though this task made versions at its destination before. */
  newRepository?: boolean;
  /** When the task is running already, wait for that run to end (else: skipped, exit 4). */
  wait?: boolean;
}

/**
 * Why the task's destination should hold a repository: a run since the task was last changed
 * made a version there. (A run before an edit may have gone to another destination.)
 */
function versionMadeThere(task: Task, latestRuns: readonly RunRecord[]): string | undefined {
  const made = latestRuns.find((r) => (r.status === 'success' || r.status === 'partial') && r.snapshot && r.startedAt >= task.updatedAt);
  return made ? `task "${task.name}" made version ${made.snapshot!.slice(0, 12)} there on ${made.startedAt.slice(0, 19).replace('T', ' ')}` : undefined;
}

export interface RunOutcome {
  record: RunRecord;
  /** The error behind a failed or skipped run, for its exit code. */
  error?: HavenError;
}

export interface RunService {
  /**
   * Runs a task for `caller`, who must have the `task.run` right on it (asked here, so the
   * scheduler and every client get the same rule). A denial throws (exit 5) and records nothing.
   */
  run(caller: Caller, task: Task, options: RunOptions): Promise<RunOutcome>;
}

@injectable()
export class RunServiceImpl implements RunService {
  constructor(
    @inject(HavenPathsId) private readonly paths: HavenPaths,
    @inject(HookSetId) private readonly hooks: HookSet,
    @inject(AuthorizerId) private readonly authorizer: Authorizer,
    @inject(PluginHostId) private readonly plugins: PluginHost,
    @inject(WorkPlacementId) private readonly placement: WorkPlacement,
    @inject(RunHistoryId) private readonly history: RunHistory,
  ) {}

  async run(caller: Caller, task: Task, options: RunOptions): Promise<RunOutcome> {
    await this.authorizer.require(caller, 'task.run', task);
    const record: RunRecord = {
      id: randomUUID(),
      task: task.name,
      taskId: task.id,
      trigger: options.trigger,
      startedBy: caller.name,
      status: 'failed',
      startedAt: new Date().toISOString(),
      finishedAt: '',
      files: 0,
      bytesRead: 0,
      bytesAdded: 0,
      snapshot: null,
      errors: [],
    };
    let error: HavenError | undefined;
    const guard = await this.overlapGuard(task, options);
    try {
      if ('heldBy' in guard) {
        throw new SkippedError(`task "${task.name}" is already running (process ${guard.heldBy.pid}, since ${guard.heldBy.since})`);
      }
      // A run that waited for another starts now.
      if (options.wait) record.startedAt = new Date().toISOString();
      // An earlier run of this task that was killed is recorded as interrupted first; then
      // this run is on record from its start, so even a kill leaves a trace. Only the latest
      // record can be one: every run settles the one before it, and runs never overlap.
      const latest = await this.history.list({ taskIds: [task.id], limit: RECENT_RUNS });
      await this.history.start(record);
      await this.execute(caller, task, record, options, latest);
    } catch (err) {
      // Interrupted: whichever call noticed first, the interruption is the reason (exit 130).
      const reason: unknown = options.signal?.aborted ? options.signal.reason : err;
      error = reason instanceof HavenError ? reason : err instanceof HavenError ? err : new HavenError((err as Error).message, { cause: err });
      // By exit code: an error from a worker process arrives as a HavenError carrying it.
      record.status = error.exitCode === ExitCode.SKIPPED ? 'skipped' : 'failed';
      record.reason = error.message;
    } finally {
      if ('release' in guard) await guard.release();
    }
    if (record.status === 'failed' && task.commands?.notify) {
      // Told of the failure with the record as it will be kept (not cancelled with the run).
      await this.commandWithWarning('notify', caller, task, record, task.commands.notify, {}, undefined, JSON.stringify({ ...record, finishedAt: new Date().toISOString() }));
    }
    record.finishedAt = new Date().toISOString();
    await this.history.record(record);
    if (this.hooks.schedule.afterRun.isUsed()) await this.hooks.schedule.afterRun.promise(record);
    return { record, error };
  }

  /** The task's run lock; with `wait`, polled until the running run ends (or the wait is aborted). */
  private async overlapGuard(task: Task, options: RunOptions): ReturnType<typeof tryLock> {
    const file = path.join(this.paths.home, 'locks', `task-${task.id}.lock`);
    for (;;) {
      const guard = await tryLock(file, `run of task ${task.name}`);
      if ('release' in guard || !options.wait || options.signal?.aborted) return guard;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  private async execute(caller: Caller, task: Task, record: RunRecord, options: RunOptions, latestRuns: RunRecord[]): Promise<void> {
    const root = task.sources.find(isSystemRoot);
    if (root) throw new UsageError(`source "${root}" is the root of the system volume, which cannot be copied while the system runs from it`);
    // Plugins that watch every run (schedule hooks) must be active before the veto.
    await this.plugins.activateForRun();
    const request: RunRequest = { taskId: task.id, task: task.name, trigger: options.trigger, destination: parseDestination(task.destination) };
    if (options.trigger !== 'manual' && this.hooks.schedule.runDue.isUsed()) await this.hooks.schedule.runDue.promise(request);
    if (this.hooks.schedule.shouldStartRun.isUsed()) {
      const veto = await this.hooks.schedule.shouldStartRun.promise(request);
      if (veto) throw new SkippedError(`run vetoed by ${veto.by}: ${veto.reason}`);
    }
    const commands = task.commands ?? {};
    if (commands.before) {
      const before = await this.command(caller, task, record, commands.before, {}, options.signal);
      if (before.code !== 0) throw new HavenError(`the task's before command failed (${describeOutcome(before)}); nothing was backed up`);
    }
    try {
      await this.backup(caller, task, record, options, latestRuns);
      await this.applyRetention(caller, task, record, options.signal);
    } finally {
      if (commands.after && !options.signal?.aborted) {
        await this.commandWithWarning('after', caller, task, record, commands.after, { HAVEN_RUN_STATUS: record.status }, options.signal);
      }
    }
  }

  /**
   * After a version was made: the task's retention policy removes the versions it does not
   * keep, and a prune gives their space back. A failure here is a warning: the version is made.
   */
  private async applyRetention(caller: Caller, task: Task, record: RunRecord, signal: AbortSignal | undefined): Promise<void> {
    if (isEmptyPolicy(task.retention) || !record.snapshot) return;
    try {
      const { forget, prune } = await this.perform(caller, task, { op: 'forget', policy: task.retention, dryRun: false, prune: 'if-forgotten' }, { signal });
      record.retention = { forgotten: forget.remove.length, bytesFreed: prune?.bytesFreed ?? 0 };
    } catch (err) {
      if (signal?.aborted) throw err;
      (record.warnings ??= []).push(`the retention policy could not be applied: ${(err as Error).message}`);
    }
  }

  /** Work on this run's task, where and as whom the task runs (its owner in system mode). */
  private perform<W extends RepositoryWork>(caller: Caller, task: Task, work: W, events: WorkEvents): Promise<WorkResult<W>> {
    return this.placement.perform({ task, runAs: runAsOf(task, caller), env: caller.env, callerUid: caller.uid, work }, events);
  }

  /** One of the task's commands, with the run's variables. */
  private command(caller: Caller, task: Task, record: RunRecord, command: string, variables: Record<string, string>, signal: AbortSignal | undefined, stdin?: string) {
    const all = { HAVEN_TASK: task.name, HAVEN_RUN_ID: record.id, HAVEN_TRIGGER: record.trigger, ...variables };
    return this.perform(caller, task, { op: 'command', command, variables: all, stdin }, { signal });
  }

  /** An after or notify command: its failure (or its not starting) is a warning on the run, never its status. */
  private async commandWithWarning(which: 'after' | 'notify', ...args: Parameters<RunServiceImpl['command']>): Promise<void> {
    const outcome = await this.command(...args).catch((err: Error) => err);
    const failure = outcome instanceof Error ? outcome.message : outcome.code === 0 ? undefined : describeOutcome(outcome);
    const record = args[2];
    if (failure) (record.warnings ??= []).push(`${which} command failed (${failure})`);
  }

  private async backup(caller: Caller, task: Task, record: RunRecord, options: RunOptions, latestRuns: RunRecord[]): Promise<void> {
    const result = await this.perform(
      caller,
      task,
      {
        op: 'backup',
        runId: record.id,
        startedBy: record.startedBy,
        expectRepository: options.newRepository ? undefined : versionMadeThere(task, latestRuns),
        ignoreFreeSpace: options.ignoreFreeSpace,
        latestRuns,
      },
      {
        onProgress: options.onProgress,
        // The record in progress names the version as soon as it exists: a run killed after
        // this point is recorded as interrupted with its version.
        onSnapshotSaved: (id) => {
          record.snapshot = id;
          void this.history.start(record).catch(() => undefined);
        },
        signal: options.signal,
      },
    );
    record.files = result.files;
    record.bytesRead = result.bytesRead;
    record.bytesAdded = result.bytesAdded;
    record.snapshot = result.snapshotId;
    record.errors = result.errors;
    record.skippedSpecial = result.skippedSpecial;
    if (result.warnings.length) record.warnings = result.warnings;
    if (result.retries) record.retries = result.retries;
    record.status = result.errors.length > 0 ? 'partial' : 'success';
  }
}
