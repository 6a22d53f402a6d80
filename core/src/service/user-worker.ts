/**
 * Per-user workers: work done for a user (a run of their task, a restore by a non-administrator)
 * executes in a child process that has become that user — uid, primary gid and every
 * supplementary group, as a login would give them — before any of the work's code is loaded.
 * Plugin code for a user's task therefore never runs as root, and the kernel decides what the
 * work may read and write.
 *
 * The child is started as root and drops its rights itself (worker-bootstrap.ts:
 * initgroups, setgid, setuid, then checks it cannot get them back), because Node's spawn()
 * with `uid`/`gid` clears the supplementary groups, and a backup must read what the user's
 * groups let them read.
 *
 * Messages: the work module's `emit` reaches `onMessage` (progress, run records), its result
 * resolves `result`; a worker that dies (crash, SIGKILL) rejects with WorkerDiedError.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HavenError } from '../errors.js';

/** Whom the worker becomes. */
export interface WorkerUser {
  uid: number;
  gid: number;
  name: string;
}

export interface UserWorker<R> {
  readonly pid: number;
  /** The work's result; rejects with the work's error, or WorkerDiedError. */
  readonly result: Promise<R>;
  /** Stops the worker (SIGTERM by default: the work may end cleanly). */
  kill(signal?: NodeJS.Signals): void;
  /** Aborts the work's signal (its third argument) with an InterruptedError of this message. */
  abort(message: string): void;
}

/** The worker process ended without a result: killed by a signal or crashed. */
export class WorkerDiedError extends HavenError {
  constructor(
    message: string,
    readonly signal: NodeJS.Signals | null,
    readonly processExitCode: number,
  ) {
    super(message);
  }
}

/** What the parent sends a worker after the start (worker-bootstrap.ts). */
export type ParentMessage = { t: 'abort'; message: string };

/** What a worker sends to its parent (worker-bootstrap.ts). */
export type WorkerMessage =
  | { t: 'emit'; message: unknown }
  | { t: 'result'; value: unknown }
  | { t: 'error'; message: string; name: string; exitCode?: number };

const BOOTSTRAP = fileURLToPath(new URL('./worker-bootstrap.js', import.meta.url));

/**
 * Starts `workModule` (an absolute path or file URL of a module exporting
 * `work(input, emit, signal)`) in a process running as `user`. `env` is the whole environment the work
 * sees: the caller's, never the service's own.
 */
export function startUserWorker<R>(
  user: WorkerUser,
  workModule: string,
  input: unknown,
  options: { env: NodeJS.ProcessEnv; cwd?: string; onMessage?: (message: unknown) => void },
): UserWorker<R> {
  const child: ChildProcess = fork(BOOTSTRAP, [], {
    env: options.env,
    cwd: options.cwd ?? '/',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const result = new Promise<R>((resolve, reject) => {
    let settled = false;
    child.on('message', (raw) => {
      const message = raw as WorkerMessage;
      if (message.t === 'emit') options.onMessage?.(message.message);
      else if (message.t === 'result') {
        settled = true;
        resolve(message.value as R);
      } else if (message.t === 'error') {
        settled = true;
        reject(Object.assign(new HavenError(message.message), message.exitCode === undefined ? {} : { exitCode: message.exitCode }));
      }
    });
    child.on('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      reject(new WorkerDiedError(`the worker for ${user.name} (pid ${child.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before it finished`, signal, code ?? -1));
    });
  });
  child.send({ user, workModule, input });
  return {
    pid: child.pid ?? -1,
    result,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    abort: (message) => {
      if (child.connected) child.send({ t: 'abort', message } satisfies ParentMessage);
    },
  };
}
