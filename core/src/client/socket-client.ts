/**
 * System mode's transport: each call is one connection to the service's socket
 * (service/protocol.ts). Progress arrives as lines; Ctrl-C sends a cancel and still waits for
 * the service's answer (a cancelled run is recorded there, and its record comes back).
 */
import { connect } from 'node:net';
import { HavenError } from '../errors.js';
import { fromWireError, readLines, writeLine, type ServiceLine } from '../service/protocol.js';
import type { CallOptions, HavenClient, Method, ParamsOf, ResultOf } from './haven-api.js';

export class SocketClient implements HavenClient {
  constructor(
    private readonly socketPath: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  call<M extends Method>(method: M, params: ParamsOf<M>, options: CallOptions = {}): Promise<ResultOf<M>> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.socketPath);
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        socket.end();
        fn();
      };
      const onAbort = () => writeLine(socket, { cancel: (options.signal?.reason as Error | undefined)?.message ?? 'interrupted' });
      socket.on('connect', () => {
        const env = Object.fromEntries(Object.entries(this.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
        writeLine(socket, { method, params: params as Record<string, unknown>, env });
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener('abort', onAbort, { once: true });
      });
      readLines(
        socket,
        (raw) => {
          const line = raw as ServiceLine;
          if ('progress' in line) options.onProgress?.(line.progress);
          else if ('message' in line) process.stderr.write(String(line.message));
          else if ('result' in line) settle(() => resolve(line.result as ResultOf<M>));
          else if ('error' in line) settle(() => reject(fromWireError(line.error)));
        },
        (reason) => settle(() => reject(new HavenError(`the Haven service at ${this.socketPath} sent ${reason}`))),
      );
      socket.on('error', (err: NodeJS.ErrnoException) =>
        settle(() => reject(new HavenError(`cannot reach the Haven service at ${this.socketPath}: ${err.code ?? err.message}${err.code === 'ECONNREFUSED' ? ' (is "haven service" running?)' : ''}`))),
      );
      socket.on('close', () => settle(() => reject(new HavenError(`the Haven service at ${this.socketPath} closed the connection before it answered`))));
    });
  }
}
