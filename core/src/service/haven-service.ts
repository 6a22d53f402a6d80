/**
 * `haven service`: serves Haven's operations on a Unix socket (protocol.ts) to every user of
 * the computer. Who a request is for comes from the kernel — the peer's uid by SO_PEERCRED,
 * its name and groups from the system's user database — never from the request. The services
 * then apply the access rules for that caller, and repository work runs in a worker process
 * that has become the task's user (worker-placement.ts).
 *
 * The same server runs as `haven service --user` for one person (`onlyUid`): other users'
 * connections are refused.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import * as path from 'node:path';
import type { Services } from '../di/services.js';
import { callerOf } from '../auth/caller.js';
import { identityOfUid } from '../auth/identity.js';
import { peerOf } from '../auth/peer-identity.js';
import { handle } from '../client/api-handlers.js';
import { METHODS, type Method, type ParamsOf } from '../client/haven-api.js';
import { DeniedError, InterruptedError, UsageError } from '../errors.js';
import { withMessageSink } from '../util/logger.js';
import { readLines, toWireError, writeLine, type ClientLine, type Request } from './protocol.js';

export interface ServiceOptions {
  socketPath: string;
  /** A personal service: only this uid may connect. */
  onlyUid?: number;
  /** Where a line per request goes (no parameters, no environment: they may carry secrets). */
  log?: (line: string) => void;
  /** The scheduler's plan, for `haven schedule`. */
  nextRuns?: () => Map<string, Date | null>;
  /** Called after each successful request (the scheduler plans again after task changes). */
  afterRequest?: (method: Method) => void;
}

export interface RunningService {
  readonly socketPath: string;
  /**
   * Stops accepting; lets what is running end within `graceMs`, then cancels it (each run is
   * recorded as failed, "service stopped"), and waits for it to end.
   */
  close(graceMs?: number): Promise<void>;
}

/** The reason of work cancelled because the service stops. */
export const STOPPED = 'service stopped';

/** How long a connection may stay open without its request line. */
const REQUEST_TIMEOUT_MS = 30_000;

function isRequest(value: unknown): value is Request {
  const r = value as Request;
  return (
    typeof r === 'object' && r !== null && typeof r.method === 'string' &&
    typeof r.params === 'object' && r.params !== null && !Array.isArray(r.params) &&
    typeof r.env === 'object' && r.env !== null && Object.values(r.env).every((v) => typeof v === 'string')
  );
}

/** A socket file left by a service that is gone is removed; a live one is never taken over. */
async function claimSocketPath(socketPath: string): Promise<void> {
  if (!existsSync(socketPath)) return;
  if (!lstatSync(socketPath).isSocket()) throw new UsageError(`${socketPath} exists and is not a socket; not touching it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new UsageError(`a Haven service is already listening on ${socketPath}`);
  unlinkSync(socketPath);
}

export async function startHavenService(s: Services, options: ServiceOptions): Promise<RunningService> {
  const log = options.log ?? (() => undefined);
  const running = new Set<{ abort: AbortController; done: Promise<void> }>();
  const server: Server = createServer((socket) => serve(socket));

  function serve(socket: Socket): void {
    const abort = new AbortController();
    let started = false;
    const fail = (err: unknown) => {
      writeLine(socket, { error: toWireError(err) });
      socket.end();
    };
    socket.on('error', () => undefined);
    // A client that connects and says nothing is not kept waiting on forever.
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
      if (!started) socket.destroy();
    });
    // A client that goes away (killed, or its connection broken) cancels its operation.
    socket.on('close', () => abort.abort(new InterruptedError('the client went away')));
    readLines(
      socket,
      (raw) => {
        const line = raw as ClientLine;
        if (started) {
          if ('cancel' in line) abort.abort(new InterruptedError(String(line.cancel)));
          return;
        }
        started = true;
        socket.setTimeout(0);
        const entry = { abort, done: Promise.resolve() };
        entry.done = answer(socket, line, abort.signal).then(
          (result) => {
            writeLine(socket, { result: result ?? null });
            socket.end();
            options.afterRequest?.((line as Request).method as Method);
          },
          fail,
        ).finally(() => running.delete(entry));
        running.add(entry);
      },
      (reason) => fail(new UsageError(`the request holds ${reason}`)),
    );
  }

  async function answer(socket: Socket, line: ClientLine, signal: AbortSignal): Promise<unknown> {
    if (!isRequest(line)) throw new UsageError('not a Haven request (expected {"method", "params", "env"})');
    if (!METHODS.has(line.method)) throw new UsageError(`the Haven service has no operation "${line.method}"`);
    // The kernel's word, not the request's.
    const peer = peerOf(socket);
    if (options.onlyUid !== undefined && peer.uid !== options.onlyUid) {
      throw new DeniedError(`denied: this is a personal Haven service of uid ${options.onlyUid}; uid ${peer.uid} cannot use it`);
    }
    const { adminGroups } = await s.settings.read();
    let identity;
    try {
      identity = identityOfUid(peer.uid, adminGroups);
    } catch (err) {
      throw new DeniedError(`denied: ${(err as Error).message}`);
    }
    const caller = callerOf(identity, line.env);
    log(`${identity.name} (uid ${identity.uid}, pid ${peer.pid}): ${line.method}`);
    const method = line.method as Method;
    // Warnings and messages of this request (from here or from its worker) go to its client.
    return withMessageSink((message) => writeLine(socket, { message }), () =>
      handle(s, caller, method, line.params as ParamsOf<typeof method>, {
        signal,
        onProgress: (progress) => writeLine(socket, { progress }),
        nextRuns: options.nextRuns,
      }),
    );
  }

  await claimSocketPath(options.socketPath);
  mkdirSync(path.dirname(options.socketPath), { recursive: true, mode: 0o755 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => resolve());
  });
  // Everyone may connect: the kernel tells who they are, and the rules decide what they may do.
  // A personal service's socket is its user's alone.
  chmodSync(options.socketPath, options.onlyUid === undefined ? 0o666 : 0o600);
  log(`listening on ${options.socketPath}`);

  return {
    socketPath: options.socketPath,
    async close(graceMs = 0) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const ended = Promise.all([...running].map((r) => r.done.catch(() => undefined)));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const r of running) r.abort.abort(new InterruptedError(STOPPED));
      await Promise.all([...running].map((r) => r.done.catch(() => undefined)));
      await closed;
    },
  };
}
