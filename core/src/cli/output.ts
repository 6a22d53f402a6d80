/**
 * Rendering: exactly one JSON document on stdout with --json, plain text otherwise; messages
 * and progress on stderr. Errors become one clear line and the contract's exit code.
 */
import { ExitCode, HavenError } from '../errors.js';

export interface CommonOptions {
  json?: boolean;
  debug?: boolean;
  progress?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: string[]): void {
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

/** Renders rows as aligned columns. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)];
}

export { formatBytes } from '../util/format-bytes.js';

/** Prints an error as one line (a stack only with --debug) and returns its exit code. */
export function reportError(err: unknown, debug: boolean): number {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof HavenError) {
    process.stderr.write(`haven: ${message}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  process.stderr.write(`haven: unexpected error: ${message}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return ExitCode.FAILED;
}
