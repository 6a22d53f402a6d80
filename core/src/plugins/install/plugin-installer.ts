/**
 * `haven plugins install`: puts a plugin package into a plugin folder as `<folder>/<id>`.
 *
 * Order matters: the package is checked inside its tarball first (package-check.ts), so a
 * refused one leaves nothing behind; then it is unpacked into a hidden staging folder in the
 * plugin folder (discovery skips hidden folders), completed there — production dependencies,
 * a link to the host's `@haven/plugin-api` — and only then renamed into place, in one step on
 * the same file system: no command ever sees half a plugin.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../../errors.js';
import type { PluginOrigin } from '../../config/haven-paths.js';
import { hostPluginApiDir } from '../host-plugin-api.js';
import { checkPluginPackage } from './package-check.js';
import { extractTarball, packFolder, readTarball } from './plugin-tarball.js';
import { runNpm } from './npm.js';

/** A plugin folder installs go to: the user's, or (administrators) the system's. */
export interface PluginFolder {
  dir: string;
  origin: Extract<PluginOrigin, 'user' | 'system'>;
}

export interface InstalledPlugin {
  id: string;
  /** The npm package name. */
  name: string;
  version: string;
  dir: string;
  origin: PluginFolder['origin'];
  /** Whether an installed copy of the same id was replaced (--force). */
  replaced: boolean;
  /** Production dependencies npm installed. */
  dependencies: string[];
}

/** A folder is packed the way npm would publish it; a file is taken as a tarball. */
async function tarballOf(source: string, work: string): Promise<string> {
  let isFolder: boolean;
  try {
    isFolder = statSync(source).isDirectory();
  } catch {
    throw new UsageError(`${source}: no such plugin folder or package tarball (.tgz)`);
  }
  return isFolder ? packFolder(source, work) : source;
}

/** The host provides the plugin API, as for a peer dependency: the plugin resolves it to the host's copy. */
function linkHostApi(pluginDir: string): void {
  const link = path.join(pluginDir, 'node_modules', '@haven', 'plugin-api');
  mkdirSync(path.dirname(link), { recursive: true });
  rmSync(link, { recursive: true, force: true });
  symlinkSync(hostPluginApiDir(), link, 'dir');
}

/** Renames the staged plugin into place; an installed copy is moved aside first and removed after. */
function putInPlace(staging: string, place: string): boolean {
  if (!existsSync(place)) {
    renameSync(staging, place);
    return false;
  }
  const old = mkdtempSync(path.join(path.dirname(place), '.replaced-'));
  try {
    renameSync(place, path.join(old, 'plugin'));
    try {
      renameSync(staging, place);
    } catch (err) {
      renameSync(path.join(old, 'plugin'), place);
      throw err;
    }
  } finally {
    // The old copy goes once a plugin is in place again (the new one, or the old one put back).
    if (existsSync(place)) rmSync(old, { recursive: true, force: true });
  }
  return true;
}

export async function installPlugin(source: string, folder: PluginFolder, options: { force: boolean }): Promise<InstalledPlugin> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'haven-install-'));
  try {
    const tarball = await tarballOf(path.resolve(source), work);
    const contents = readTarball(tarball);
    const { pkg, dependencies } = checkPluginPackage(contents.packageJson, (file) => contents.files.has(file), source);
    const id = pkg.haven.id;
    const place = path.join(folder.dir, id);
    if (existsSync(place) && !options.force) {
      throw new UsageError(`plugin "${id}" is already installed in ${place}: add --force to replace it with ${pkg.version}`);
    }
    mkdirSync(folder.dir, { recursive: true });
    const staging = mkdtempSync(path.join(folder.dir, `.installing-${id}-`));
    // mkdtemp makes it 0700; once in place every user who loads plugins from here must read it.
    chmodSync(staging, 0o755);
    try {
      await extractTarball(tarball, staging);
      linkHostApi(staging);
      if (dependencies.length > 0) {
        // Production dependencies only: dev tools are for building, and the API is the host's.
        // npm resolves peers even when told to omit them: the link above satisfies the API's,
        // which is in no registry; npm then removes it as an omitted peer, so it is made again.
        await runNpm(['install', '--omit=dev', '--omit=peer', '--ignore-scripts', '--no-audit', '--no-fund'], staging, `installing the dependencies of plugin "${id}"`);
        linkHostApi(staging);
      }
      const replaced = putInPlace(staging, place);
      return { id, name: pkg.name, version: pkg.version, dir: place, origin: folder.origin, replaced, dependencies };
    } finally {
      rmSync(staging, { recursive: true, force: true }); // gone already unless something failed
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
