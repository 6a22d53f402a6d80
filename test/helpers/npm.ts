/**
 * The real npm, for tests of plugin packages: packing, installing, building and testing them as
 * an author or a user would. Installs prefer npm's cache (the versions Haven itself was
 * installed with), so they go to the registry only for what the cache lacks.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';

/** npm's cache folder, for child processes (a Haven sandbox has a HOME of its own). */
export const NPM_CACHE = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();

/** Environment for an npm that a Haven child process runs: the cache above, offline when it can be. */
export const NPM_ENV: NodeJS.ProcessEnv = { npm_config_cache: NPM_CACHE, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };

export interface NpmResult {
  code: number;
  output: string;
}

/** Runs `npm ARGS` in `cwd`; resolves with its exit code and its stdout and stderr together. */
export function npm(args: string[], cwd: string): Promise<NpmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, env: { ...process.env, ...NPM_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Runs npm and fails with its output unless it exits 0. */
export async function npmOk(args: string[], cwd: string): Promise<string> {
  const result = await npm(args, cwd);
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} in ${cwd} exited ${result.code}:\n${result.output}`);
  return result.output;
}

/** Packs the package in `folder` into `into`; returns the tarball's path. */
export async function npmPack(folder: string, into: string): Promise<string> {
  const out = await npmOk(['pack', '--json', '--ignore-scripts', '--pack-destination', into], folder);
  const json = out.slice(out.indexOf('['));
  return path.join(into, (JSON.parse(json) as Array<{ filename: string }>)[0].filename);
}
