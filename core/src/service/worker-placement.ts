/**
 * System mode's WorkPlacement: each piece of repository work (a run's backup, a listing, a
 * restore…) executes in a per-user worker process that has become `runAs` (user-worker.ts),
 * so plugin code for a user's task never runs inside the root service and the kernel decides
 * what the work may read and write.
 *
 * The worker builds its own container from the environment given here: the service's plugin
 * folders and system settings (what is installed and enabled is the computer's choice), and the
 * run-as user's own Haven folder for their plugin data, secrets and credentials file. The
 * caller's environment (password, provider credentials) travels in the work's input, never in
 * the worker's process environment; a caller who is not the run-as user (an administrator
 * running someone's task) brings only the repository password, so nothing else of theirs
 * reaches a process that user could inspect.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject, injectable } from 'inversify';
import { HavenPaths as HavenPathsId } from '../di/service-identifiers.js';
import type { HavenPaths } from '../config/haven-paths.js';
import type { CallerEnvironment } from '../auth/caller.js';
import { userOf } from '../auth/peer-identity.js';
import { HavenError } from '../errors.js';
import { currentMessageSink } from '../util/logger.js';
import type { RepositoryWork, WorkEvents, WorkPlacement, WorkRequest, WorkResult } from '../tasks/repository-work.js';
import { startUserWorker, type WorkerUser } from './user-worker.js';
import type { WorkerEvent, WorkerInput } from './repository-worker.js';

const WORK_MODULE = fileURLToPath(new URL('./repository-worker.js', import.meta.url));

/** The account a task's work runs as, from the system's user database. */
function accountOf(runAs: { uid: number; name: string }): WorkerUser & { home: string } {
  const account = userOf(runAs.uid);
  if (!account) throw new HavenError(`the work cannot run as ${runAs.name} (uid ${runAs.uid}): the system knows no such user any more`);
  return { uid: runAs.uid, gid: account.gid, name: account.name, home: account.home };
}

/** The part of the caller's environment a worker for another user may receive. */
function envFor(worker: WorkerUser, callerUid: number, env: CallerEnvironment): Record<string, string> {
  const pairs = Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string');
  const allowed = callerUid === worker.uid ? pairs : pairs.filter(([k]) => k === 'HAVEN_PASSWORD');
  return Object.fromEntries(allowed);
}

@injectable()
export class UserWorkerPlacement implements WorkPlacement {
  constructor(@inject(HavenPathsId) private readonly paths: HavenPaths) {}

  /** The worker's own process environment: where its container finds plugins and state. */
  private workerEnvironment(user: WorkerUser & { home: string }): NodeJS.ProcessEnv {
    const folders = (origin: string) => this.paths.pluginFolders.filter((f) => f.origin === origin).map((f) => f.dir);
    return {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: user.home,
      USER: user.name,
      LOGNAME: user.name,
      // Root's work is the system's own; a user's keeps its state in their own Haven folder.
      HAVEN_HOME: user.uid === 0 ? this.paths.home : path.join(user.home, '.local', 'share', 'haven'),
      HAVEN_SYSTEM_DIR: this.paths.systemDir,
      HAVEN_SYSTEM_PLUGIN_DIR: folders('system')[0],
      HAVEN_PLUGIN_PATH: folders('path').join(':'),
      ...(process.env.HAVEN_DEBUG ? { HAVEN_DEBUG: process.env.HAVEN_DEBUG } : {}),
    };
  }

  async perform<W extends RepositoryWork>(request: WorkRequest<W>, events: WorkEvents): Promise<WorkResult<W>> {
    const user = accountOf(request.runAs);
    const input: WorkerInput = {
      request: { ...request, env: envFor(user, request.callerUid, request.env) },
    };
    const toClient = currentMessageSink();
    const worker = startUserWorker<WorkResult<W>>(user, WORK_MODULE, input, {
      env: this.workerEnvironment(user),
      onMessage: (raw) => {
        const event = raw as WorkerEvent;
        if (event.t === 'progress') events.onProgress?.(event.progress);
        else if (event.t === 'snapshot') events.onSnapshotSaved?.(event.id);
        else if (event.t === 'message') toClient(event.line);
      },
    });
    const onAbort = () => worker.abort((events.signal?.reason as Error | undefined)?.message ?? 'interrupted');
    if (events.signal?.aborted) onAbort();
    events.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await worker.result;
    } finally {
      events.signal?.removeEventListener('abort', onAbort);
    }
  }
}
