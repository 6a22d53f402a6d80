import type { RetentionPolicy } from '../retention/retention-policy.js';

/**
 * The task model: what to back up, where to, when, and what to keep. A task stores the path
 * of its password file, never a password.
 */

export interface TaskOwner {
  uid: number;
  name: string;
}

/** What a task keeps: restic's forget rules (retention/retention-policy.ts). */
export type Retention = RetentionPolicy;

export interface Task {
  id: string;
  name: string;
  /**
   * null for legacy tasks, made before tasks had owners: every user may use them. A user who
   * edits a legacy task becomes its owner: it runs with their rights from then on.
   */
  owner: TaskOwner | null;
  /** When a user took this task over by editing it as a legacy task (ISO time). */
  ownerSince?: string;
  sources: string[];
  excludes: string[];
  /** `TYPE:LOCATION` as validated by the provider. */
  destination: string;
  schedule: string;
  retention: Retention;
  encryption: 'password' | 'none';
  /** Absolute path of the file holding the repository password (read at run time). */
  passwordFile?: string;
  /** Commands around each run, run as the task's user (see task-commands.ts). */
  commands?: TaskCommands;
  createdAt: string;
  updatedAt: string;
}

/**
 * Shell commands a task runs around its runs, as its user: `before` (a failure fails the run
 * before anything is read), `after` (every run that got past `before`; a failure is a warning
 * on the run), `notify` (a run that failed, with its record as JSON on stdin).
 */
export interface TaskCommands {
  before?: string;
  after?: string;
  notify?: string;
}

/** Fields a user sets on create/edit/import. */
export type TaskSettings = Pick<Task, 'sources' | 'excludes' | 'destination' | 'schedule' | 'retention' | 'encryption' | 'passwordFile' | 'commands'>;

export function parseDestination(destination: string): { type: string; location: string } {
  const colon = destination.indexOf(':');
  if (colon <= 0) return { type: '', location: destination };
  return { type: destination.slice(0, colon), location: destination.slice(colon + 1) };
}

/**
 * Whose rights a task's work runs with: its owner's; a legacy task's, the rights of whoever
 * starts it (the scheduler starts it as the service, root).
 */
export function runAsOf(task: Pick<Task, 'owner'>, caller: TaskOwner): TaskOwner {
  return task.owner ?? { uid: caller.uid, name: caller.name };
}
