/**
 * Finds plugin packages in the plugin folders, in lookup order, and reads their manifests
 * without importing any plugin code. A folder in a plugin folder is a plugin when it has a
 * package.json with a `haven` field; a HAVEN_PLUGIN_PATH entry may also be a plugin itself.
 * Packages that `npm install` put in a plugin folder's node_modules (also `@scope/name`) count
 * too, after the plugin folder's own children; hidden folders (`.name`) never do: that is where
 * `haven plugins install` stages a package before it is checked.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import { HavenPaths as HavenPathsId } from '../di/service-identifiers.js';
import type { HavenPaths, PluginOrigin } from '../config/haven-paths.js';
import { validatePluginPackage, type PluginPackage } from './plugin-manifest.js';

/** A plugin package found on disk, valid or not. */
export interface DiscoveredPlugin {
  dir: string;
  origin: PluginOrigin;
  pkg?: PluginPackage;
  /** Why the manifest cannot be used (file and field). */
  problems?: string[];
}

export interface PluginDiscovery {
  discover(): DiscoveredPlugin[];
}

function readPackageJson(dir: string): unknown | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dir, 'package.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    return { __parseError: (err as Error).message };
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Visible sub-folders (symlinks to folders included: npm links `file:` packages), sorted. */
function subfolders(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name))
    .filter(isDirectory);
}

@injectable()
export class PluginDiscoveryImpl implements PluginDiscovery {
  constructor(@inject(HavenPathsId) private readonly paths: HavenPaths) {}

  discover(): DiscoveredPlugin[] {
    const found: DiscoveredPlugin[] = [];
    const seenDirs = new Set<string>();
    for (const { dir, origin } of this.paths.pluginFolders) {
      if (!isDirectory(dir)) continue;
      const candidates = this.looksLikePlugin(dir) ? [dir] : this.children(dir);
      for (const candidate of candidates) {
        if (seenDirs.has(candidate)) continue;
        seenDirs.add(candidate);
        const plugin = this.read(candidate, origin);
        if (plugin) found.push(plugin);
      }
    }
    return found;
  }

  private looksLikePlugin(dir: string): boolean {
    const json = readPackageJson(dir) as { haven?: unknown } | undefined;
    return json !== undefined && typeof json === 'object' && json !== null && 'haven' in json;
  }

  /** The plugin folder's own children, then what npm installed into its node_modules. */
  private children(dir: string): string[] {
    const modules = path.join(dir, 'node_modules');
    const packages = subfolders(modules).flatMap((p) => (path.basename(p).startsWith('@') ? subfolders(p) : [p]));
    return [...subfolders(dir).filter((p) => p !== modules), ...packages];
  }

  private read(dir: string, origin: PluginOrigin): DiscoveredPlugin | undefined {
    const json = readPackageJson(dir) as Record<string, unknown> | undefined;
    if (json === undefined) return undefined; // not a package: ignore quietly
    const manifestFile = path.join(dir, 'package.json');
    if ('__parseError' in json) return { dir, origin, problems: [`${manifestFile}: not valid JSON (${String(json.__parseError)})`] };
    if (!('haven' in json)) return undefined; // an ordinary package, not a plugin
    const result = validatePluginPackage(json);
    if (!result.ok) return { dir, origin, problems: result.problems.map((p) => `${manifestFile}: ${p}`) };
    return { dir, origin, pkg: result.pkg };
  }
}
