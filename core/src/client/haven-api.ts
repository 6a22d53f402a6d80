/**
 * Every operation a client (the CLI) asks of Haven, with its parameters and its answer: one
 * list for both transports — in-process in personal mode, over the service's socket in system
 * mode (client/socket-client.ts). Parameters and answers are plain JSON: whatever crosses the
 * socket looks the same in-process. Who asks is never a parameter: in-process it is the
 * process's user, over the socket it is whom the kernel says the peer is.
 */
import type { PluginInfo } from '../plugins/plugin-host.js';
import type { DeviceInfo, RunRecord } from '@haven/plugin-api';
import type { BackupProgress, CheckOptions, CheckReport, ConfigRepair, EntryInfo, IndexRepair, LockView, RestoreResult, SnapshotRepairReport } from '../engine/index.js';
import type { Task } from '../tasks/task.js';
import type { TaskExport, TaskInput } from '../tasks/task-service.js';
import type { ForgetOutcome, SnapshotListing } from '../tasks/repository-work.js';
import type { RetentionPolicy } from '../retention/retention-policy.js';
import type { RestoreRequest } from '../tasks/repository-operations.js';

/** An error as it crosses the socket: its message and the exit code it means. */
export interface ErrorReply {
  message: string;
  exitCode: number;
}

/** A run's record, and the error behind a failed or skipped one. */
export interface RunReply {
  record: RunRecord;
  error?: ErrorReply;
}

export interface HavenApi {
  'task.list': { params: Record<string, never>; result: Task[] };
  'task.get': { params: { name: string }; result: Task };
  'task.create': { params: { name: string; input: TaskInput; cwd: string }; result: Task };
  'task.edit': { params: { name: string; input: TaskInput; cwd: string }; result: Task };
  'task.delete': { params: { name: string; purge?: boolean }; result: Task & { purged?: ForgetOutcome } };
  forget: { params: { name: string; policy?: RetentionPolicy; dryRun: boolean; prune: boolean }; result: ForgetOutcome };
  'task.export': { params: { names: string[] }; result: TaskExport };
  'task.import': { params: { data: unknown; cwd: string }; result: Task[] };
  'task.normalizeDestination': { params: { text: string }; result: string };
  run: { params: { name: string; ignoreFreeSpace?: boolean; newRepository?: boolean; wait?: boolean }; result: RunReply };
  schedule: { params: Record<string, never>; result: ScheduleListing };
  drives: { params: Record<string, never>; result: Array<DeviceInfo & { tasks: string[] }> };
  history: { params: { name?: string; limit?: number }; result: RunRecord[] };
  snapshots: { params: { name: string }; result: SnapshotListing };
  ls: { params: { name: string; snapshot: string; dir?: string }; result: EntryInfo[] };
  restore: { params: { name: string; options: Omit<RestoreRequest, 'onProgress'> }; result: RestoreResult };
  check: { params: { name: string; options: CheckOptions }; result: CheckReport };
  unlock: { params: { name: string; all: boolean }; result: LockView[] };
  'repair.config': { params: { name: string }; result: ConfigRepair };
  'repair.index': { params: { name: string }; result: IndexRepair };
  'repair.snapshots': { params: { name: string; dryRun: boolean }; result: SnapshotRepairReport };
  'plugins.list': { params: Record<string, never>; result: PluginInfo[] };
  'plugins.info': { params: { id: string }; result: PluginInfo };
  'plugins.setEnabled': { params: { id: string; enabled: boolean }; result: PluginInfo };
}

export type Method = keyof HavenApi;
export type ParamsOf<M extends Method> = HavenApi[M]['params'];
export type ResultOf<M extends Method> = HavenApi[M]['result'];

/** What a long operation reports while it works, and how the client stops it. */
export interface CallOptions {
  onProgress?: (p: BackupProgress) => void;
  /** Aborting it cancels the operation where it runs (Ctrl-C); it then ends as interrupted. */
  signal?: AbortSignal;
}

/** `haven schedule`: when each task the caller can see runs next. */
export interface ScheduleListing {
  /** Whether a scheduler serves these tasks (a service runs); if not, nothing starts by itself. */
  schedulerRunning: boolean;
  tasks: Array<{ name: string; schedule: string; next: string | null; lastRun: { status: string; trigger: string; startedAt: string } | null }>;
}

/** One interface, two transports. */
export interface HavenClient {
  call<M extends Method>(method: M, params: ParamsOf<M>, options?: CallOptions): Promise<ResultOf<M>>;
}

export const METHODS: ReadonlySet<string> = new Set<Method>([
  'task.list', 'task.get', 'task.create', 'task.edit', 'task.delete', 'task.export', 'task.import', 'task.normalizeDestination',
  'forget', 'run', 'schedule', 'drives', 'history', 'snapshots', 'ls', 'restore', 'check', 'unlock', 'repair.config', 'repair.index', 'repair.snapshots',
  'plugins.list', 'plugins.info', 'plugins.setEnabled',
]);
