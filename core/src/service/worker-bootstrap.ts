/**
 * The first code of a per-user worker (user-worker.ts). It starts as root, becomes the user —
 * supplementary groups first (initgroups, through NSS), then the primary group, then the uid:
 * the order that leaves no way back — checks that it worked, and only then loads the work's
 * module and runs it. Nothing of the work runs with root's rights.
 */
import type { ParentMessage, WorkerMessage, WorkerUser } from './user-worker.js';
import { InterruptedError } from '../errors.js';

interface Start {
  user: WorkerUser;
  workModule: string;
  input: unknown;
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

/** Becomes `user` for good, or throws. */
function becomeUser(user: WorkerUser): void {
  if (process.getuid!() === user.uid && process.getgid!() === user.gid) return; // already them (personal mode, tests)
  // initgroups(3) is in Node but missing from its type declarations.
  (process as unknown as { initgroups(user: string, extraGroup: number): void }).initgroups(user.name, user.gid);
  process.setgid!(user.gid);
  process.setuid!(user.uid);
  if (process.getuid!() !== user.uid || process.geteuid!() !== user.uid || process.getgid!() !== user.gid || process.getegid!() !== user.gid) {
    throw new Error(`could not become ${user.name} (uid ${user.uid}, gid ${user.gid})`);
  }
  // Root's rights must be gone for good: getting uid 0 back has to fail.
  let regained = false;
  try {
    process.setuid!(0);
    regained = true;
  } catch {
    // expected
  }
  if (regained) throw new Error(`the worker for ${user.name} could get root's rights back`);
}

// The parent may abort the work (the client pressed Ctrl-C, the service stops).
const abort = new AbortController();

process.once('message', (raw) => {
  process.on('message', (later) => {
    const message = later as ParentMessage;
    if (message.t === 'abort') abort.abort(new InterruptedError(message.message));
  });
  void (async () => {
    const start = raw as Start;
    try {
      becomeUser(start.user);
      const work = (await import(start.workModule)) as { work(input: unknown, emit: (message: unknown) => void, signal: AbortSignal): Promise<unknown> };
      const value = await work.work(start.input, (message) => void send({ t: 'emit', message }), abort.signal);
      await send({ t: 'result', value });
    } catch (err) {
      const e = err as Error & { exitCode?: number };
      await send({ t: 'error', message: e?.message ?? String(err), name: e?.name ?? 'Error', ...(typeof e?.exitCode === 'number' ? { exitCode: e.exitCode } : {}) });
    }
    process.disconnect();
  })();
});
