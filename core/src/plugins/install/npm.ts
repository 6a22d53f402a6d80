/**
 * Runs the npm on PATH for the plugin installer. npm is what packs a plugin folder and fetches a
 * plugin's dependencies, so its own messages are kept for the error the user sees.
 */
import { execFile } from 'node:child_process';
import { HavenError } from '../../errors.js';

/** The last lines of npm's output: where it says what went wrong. */
function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function runNpm(args: string[], cwd: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new HavenError(`${what} needs npm, which is not on PATH`));
      }
      reject(new HavenError(`${what} failed: npm ${args.join(' ')} (in ${cwd}) exited ${String(err.code)}:\n${tail(`${stdout}\n${stderr}`)}`));
    });
  });
}
