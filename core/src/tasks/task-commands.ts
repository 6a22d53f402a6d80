/**
 * Running a task's own commands (`--before`, `--after`, `--notify-command`): `/bin/sh -c`, in
 * its own process group so a cancelled run stops the whole command, its output kept (the tail)
 * for the message when it fails. Where it runs, and as whom, is the WorkPlacement's business:
 * as the task's user, like the backup itself.
 */
import { spawn } from 'node:child_process';

export interface CommandOutcome {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
  /** The last part of what it wrote (stdout and stderr together). */
  output: string;
}

const OUTPUT_TAIL = 4096;

export function runShellCommand(command: string, options: { env: NodeJS.ProcessEnv; stdin?: string; signal?: AbortSignal }): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: options.env,
      cwd: options.env.HOME || '/',
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group: a cancel stops what it started too
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.stdin.on('error', () => undefined); // a command that does not read its input
    child.stdin.end(options.stdin ?? '');
    const onAbort = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, output });
    });
  });
}

/** "exit 3: <its last line>" / "killed by SIGTERM" — for run records and messages. */
export function describeOutcome(outcome: CommandOutcome): string {
  const how = outcome.code !== null ? `exit ${outcome.code}` : `killed by ${outcome.signal}`;
  const last = outcome.output.trim().split('\n').pop()?.trim();
  return last ? `${how}: ${last.slice(0, 300)}` : how;
}
