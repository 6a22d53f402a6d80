/**
 * The service's wire format: one request per connection on a Unix stream socket, as lines of
 * JSON (newline-delimited).
 *
 *   client → service   {"method": M, "params": {…}, "env": {…}}      the request, first line
 *                      {"cancel": "interrupted by SIGINT"}          later: Ctrl-C
 *   service → client   {"progress": {…}}                            any number of times
 *                      {"message": "haven: warning: …\n"}          a line for the user's stderr
 *                      {"result": …} | {"error": {message, exitCode, unexpected?}}   last
 *
 * The request says nothing about who sends it: the service asks the kernel (SO_PEERCRED), and
 * fields a client adds to claim an identity are never read. A client that goes away cancels
 * its operation.
 */
import type { Socket } from 'node:net';
import type { BackupProgress } from '../engine/index.js';
import { ExitCode, HavenError } from '../errors.js';

/** A longer line is refused: a request is small, and a client must not exhaust the service's memory. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export interface Request {
  method: string;
  params: Record<string, unknown>;
  /** The caller's environment: only its password and provider credentials are ever used. */
  env: Record<string, string>;
}

export type ClientLine = Request | { cancel: string };

export interface WireError {
  message: string;
  exitCode: number;
  /** Not one of Haven's own errors (a defect): the client words it as such. */
  unexpected?: boolean;
}

export type ServiceLine = { progress: BackupProgress } | { message: string } | { result: unknown } | { error: WireError };

export function toWireError(err: unknown): WireError {
  if (err instanceof HavenError) return { message: err.message, exitCode: err.exitCode };
  return { message: err instanceof Error ? err.message : String(err), exitCode: ExitCode.FAILED, unexpected: true };
}

/** An error the service reported, with its exit code. */
export class ServiceError extends HavenError {
  constructor(message: string, override readonly exitCode: number) {
    super(message);
  }
}

export function fromWireError(error: WireError): Error {
  return error.unexpected ? new Error(error.message) : new ServiceError(error.message, error.exitCode);
}

/** Writes one line of JSON. */
export function writeLine(socket: Socket, value: ClientLine | ServiceLine): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(value)}\n`);
}

/**
 * Calls `onLine` with each parsed line of `socket`; a line that is not JSON, or too long, ends
 * the connection through `onBad`.
 */
export function readLines(socket: Socket, onLine: (value: unknown) => void, onBad: (reason: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        onBad('a line that is not JSON');
        return;
      }
      onLine(value);
    }
    if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) onBad(`a line longer than ${MAX_LINE_BYTES} bytes`);
  });
}
