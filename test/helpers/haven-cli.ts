/**
 * Drives the real `haven` command in a child process, with its own state folders, so tests
 * see exactly what a user sees: stdout, stderr and the exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const HAVEN_BIN = path.join(REPO_ROOT, 'core', 'bin', 'haven.js');
export const FIXTURE_PLUGINS = path.join(REPO_ROOT, 'test', 'fixtures', 'plugins');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The command that starts Node as `user` (or as this process's user): setpriv with
 * --init-groups, so the user's groups (e.g. the admin group) apply, as they would at a login;
 * spawn's own uid option drops them. `gid` may pick another of the user's groups.
 */
export function nodeAs(user?: { uid: number; gid: number }, gid = user?.gid): string[] {
  return user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${gid}`, '--init-groups', process.execPath] : [process.execPath];
}

export interface HavenSandbox {
  root: string;
  env: NodeJS.ProcessEnv;
  /** `umask`: run under this umask (e.g. 0o000, the worst case for file modes). */
  run(args: string[], options?: { user?: { uid: number; gid: number }; env?: NodeJS.ProcessEnv; cwd?: string; umask?: number }): Promise<CliResult>;
  json<T = unknown>(args: string[], options?: { env?: NodeJS.ProcessEnv }): Promise<T>;
}

const created: string[] = [];
// Test folders can hold hundreds of MB: remove them when the test process ends.
process.on('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'haven-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** A fresh set of state folders: personal home, system settings, plugin folders. */
export function havenSandbox(extraEnv: NodeJS.ProcessEnv = {}): HavenSandbox {
  const root = tempDir();
  const dirs = { home: path.join(root, 'home'), system: path.join(root, 'system'), data: path.join(root, 'xdg-data'), sysPlugins: path.join(root, 'system-plugins') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: root,
    HAVEN_HOME: dirs.home,
    HAVEN_SYSTEM_DIR: dirs.system,
    HAVEN_SYSTEM_PLUGIN_DIR: dirs.sysPlugins,
    XDG_DATA_HOME: dirs.data,
    ...extraEnv,
  };
  const run: HavenSandbox['run'] = (args, options = {}) =>
    new Promise((resolve, reject) => {
      const node = nodeAs(options.user);
      // A umask is set by a shell that then execs the command, so the pid stays the command's.
      const command = options.umask === undefined ? node : ['sh', '-c', `umask ${options.umask.toString(8).padStart(3, '0')}; exec "$0" "$@"`, ...node];
      const child = spawn(command[0], [...command.slice(1), HAVEN_BIN, ...args], {
        env: { ...env, ...options.env },
        cwd: options.cwd ?? root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  return {
    root,
    env,
    run,
    async json<T>(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<T> {
      const result = await run([...args, '--json'], options);
      if (result.code !== 0) throw new Error(`haven ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    },
  };
}
