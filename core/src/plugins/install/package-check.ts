/**
 * What `plugins install` refuses, decided on the tarball before anything is unpacked (and what
 * `plugins check PATH` refuses in a folder): not a Haven plugin, an invalid manifest (the
 * validator discovery uses), an `engines.haven` range this Haven's plugin API is outside of, or
 * a main file the package lacks (not built, or left out by its `files` field) — which would
 * otherwise only show later, as a plugin that fails to load.
 */
import * as path from 'node:path';
import { UsageError } from '../../errors.js';
import { apiIncompatibility, validatePluginPackage, type PluginPackage } from '../plugin-manifest.js';

export interface CheckedPackage {
  pkg: PluginPackage;
  /** Names of its production dependencies (optional ones included), which npm must fetch. */
  dependencies: string[];
}

/**
 * `packageJson`: the text of its package.json (undefined when it has none); `hasFile(path)`:
 * whether the package holds that file (a `/`-separated path inside it).
 */
export function checkPluginPackage(packageJson: string | undefined, hasFile: (file: string) => boolean, source: string): CheckedPackage {
  if (packageJson === undefined) throw new UsageError(`${source} is not a plugin package: it has no package.json`);
  let json: unknown;
  try {
    json = JSON.parse(packageJson);
  } catch (err) {
    throw new UsageError(`${source}: package.json is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || !('haven' in json)) {
    throw new UsageError(`${source} is not a Haven plugin: its package.json has no "haven" manifest (see docs/plugins.md)`);
  }
  const result = validatePluginPackage(json);
  if (!result.ok) throw new UsageError(`${source} has an invalid plugin manifest (package.json): ${result.problems.join('; ')}`);
  const { pkg } = result;
  const incompatible = apiIncompatibility(pkg.engines.haven);
  if (incompatible) throw new UsageError(`plugin "${pkg.haven.id}" ${pkg.version} cannot be loaded by this Haven: it ${incompatible}`);
  const main = path.posix.normalize(pkg.main);
  if (!hasFile(main)) {
    throw new UsageError(`plugin "${pkg.haven.id}" ${pkg.version} cannot be loaded: its main file ${main} is not in the package (build it first; if it is built, see "files" in its package.json)`);
  }
  const { dependencies = {}, optionalDependencies = {} } = json as { dependencies?: object; optionalDependencies?: object };
  return { pkg, dependencies: [...new Set([...Object.keys(dependencies), ...Object.keys(optionalDependencies)])] };
}
