/**
 * Records shared between the core and plugins: runs, requests to run, authorization requests.
 *
 * Stable since API 1.0.0; `RunStatus` `running` and `interrupted`, `RunRecord.pid`, `host`, `boot`,
 * `started`, `warnings` and `retries` added in 1.1.0.
 */

/** Why a run started. */
export type RunTrigger = 'manual' | 'schedule' | 'catch-up' | 'on-connect';

/**
 * How a run ended. Two statuses appear only in the run history, never as the outcome of
 * `haven run`: `running` is the record of a run still in progress (written when it starts,
 * replaced by its final record), and `interrupted` is a run whose process stopped before it
 * finished (killed or crashed), found when the history is read.
 */
export type RunStatus = 'success' | 'partial' | 'failed' | 'skipped' | 'running' | 'interrupted';

/** A file the run could not back up. */
export interface RunError {
  path: string;
  message: string;
}

/** The record every run leaves (the JSON of `haven run --json`). */
export interface RunRecord {
  id: string;
  task: string;
  taskId: string;
  trigger: RunTrigger;
  /** User name of whoever started it (the scheduler runs as the task's owner). */
  startedBy: string;
  status: RunStatus;
  /** Why a run failed, was skipped or was interrupted. */
  reason?: string;
  startedAt: string;
  finishedAt: string;
  files: number;
  /** Logical bytes seen in the sources (links to folders followed). */
  bytesRead: number;
  /** Bytes the repository grew by (after dedup, compression). */
  bytesAdded: number;
  snapshot: string | null;
  errors: RunError[];
  /** Counts of entries that are not backed up by design: sockets, FIFOs, devices. */
  skippedSpecial?: number;
  /**
   * What the run found wrong with the repository and worked around, e.g. packs the store had
   * lost (their data was uploaded again). The run still succeeded; the user should look.
   */
  warnings?: string[];
  /** Store calls that failed transiently and were tried again (absent when none). */
  retries?: number;
  /**
   * The task's retention policy applied after the run (API 1.2.0): versions removed, and the
   * store bytes their data held that were given back. Absent when the task has no policy.
   */
  retention?: { forgotten: number; bytesFreed: number };
  /**
   * The process (id and host name) running it: set on `running` and `interrupted` records
   * only, so a run whose process is gone can be recognised.
   */
  pid?: number;
  host?: string;
  /** With pid: the boot id and start time of that process (Linux), so a reused pid is not taken for it. */
  boot?: string;
  started?: string;
}

/** Asked of the schedule hooks before a run starts. */
export interface RunRequest {
  taskId: string;
  task: string;
  trigger: RunTrigger;
  destination: { type: string; location: string };
}

/** A reason to not start a run, or to deny an action. */
export interface Veto {
  /** Plugin or rule that vetoed. */
  by: string;
  reason: string;
}

/** Actions the authorization hook is asked about. */
export type AuthAction =
  | 'task.create'
  | 'task.read'
  | 'task.modify'
  | 'task.delete'
  | 'task.run'
  | 'restore'
  | 'plugins.manage';

/** One authorization question: may `user` do `action` (on `taskId`, into `target`)? */
export interface AuthRequest {
  action: AuthAction;
  user: { uid: number; name: string; isAdmin: boolean };
  taskId?: string;
  taskOwnerUid?: number | null;
  target?: string;
}
