/**
 * `haven plugins new NAME`: writes a plugin package ready to build, test and install, from the
 * files of core/templates/plugin with their `{{placeholders}}` filled in. The package lives
 * outside Haven and needs it only through `@haven/plugin-api`: a peer dependency (the host
 * provides it at run time) and, to build and test, a `file:` link to this Haven's copy.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLUGIN_API_VERSION } from '@haven/plugin-api';
import { HavenError, UsageError } from '../errors.js';
import { INSTALL_ROOT } from '../config/haven-paths.js';
import { PLUGIN_ID_PATTERN } from './plugin-manifest.js';
import { hostPluginApiDir } from './host-plugin-api.js';

/** core/templates/plugin, seen from core/dist/plugins/ (or core/src/plugins/). */
const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/plugin/', import.meta.url));
/** What a plugin builds and tests with, at the exact versions Haven itself uses. */
const TOOLS = ['typescript', 'mocha', '@types/mocha', '@types/node'];
/** npm leaves every `.gitignore` out of a package, so the template keeps it under another name. */
const RENAMED: Record<string, string> = { gitignore: '.gitignore' };

export interface ScaffoldedPlugin {
  id: string;
  packageName: string;
  dir: string;
  /** Relative to `dir`, sorted. */
  files: string[];
}

function fill(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new HavenError(`template ${file}: unknown placeholder {{${key}}} (this Haven installation is broken)`);
    return values[key];
  });
}

function templateFiles(): string[] {
  return readdirSync(TEMPLATE_DIR, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(TEMPLATE_DIR, path.join(e.parentPath, e.name)))
    .sort();
}

/** The template's devDependencies: the API linked from this Haven, the tools at Haven's versions. */
function devDependencies(): Record<string, string> {
  const rootManifest = path.join(INSTALL_ROOT, 'package.json');
  const own = (JSON.parse(readFileSync(rootManifest, 'utf8')) as { devDependencies?: Record<string, string> }).devDependencies ?? {};
  const deps: Record<string, string> = { '@haven/plugin-api': `file:${hostPluginApiDir()}` };
  for (const tool of TOOLS) {
    if (!own[tool]) throw new HavenError(`${rootManifest} names no version of ${tool}: this Haven installation is incomplete`);
    deps[tool] = own[tool];
  }
  return deps;
}

/** A target that exists must be an empty folder: nothing of the user's is ever overwritten. */
function checkTarget(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UsageError(`${dir} is a file: give a new or empty folder with --dir`);
    throw err;
  }
  if (entries.length > 0) throw new UsageError(`${dir} is not empty: give a new or empty folder with --dir`);
}

export function scaffoldPlugin(name: string, dir: string | undefined, cwd = process.cwd()): ScaffoldedPlugin {
  if (!PLUGIN_ID_PATTERN.test(name)) {
    throw new UsageError(`"${name}" cannot be a plugin name: use lower-case letters, digits and dashes, starting with a letter (at most 64), e.g. "my-cloud"`);
  }
  const packageName = `haven-plugin-${name}`;
  const target = path.resolve(cwd, dir ?? packageName);
  checkTarget(target);
  // The plugin's id and its one storage provider type are both NAME.
  const values = { id: name, type: name, packageName, apiRange: `^${PLUGIN_API_VERSION}` };
  const devDeps = devDependencies();
  const written: string[] = [];
  for (const file of templateFiles()) {
    let text = fill(readFileSync(path.join(TEMPLATE_DIR, file), 'utf8'), values, file);
    if (file === 'package.json') text = `${JSON.stringify({ ...JSON.parse(text), devDependencies: devDeps }, null, 2)}\n`;
    const out = path.join(path.dirname(file), RENAMED[path.basename(file)] ?? path.basename(file));
    mkdirSync(path.dirname(path.join(target, out)), { recursive: true });
    writeFileSync(path.join(target, out), text);
    written.push(out);
  }
  return { id: name, packageName, dir: target, files: written.sort() };
}
