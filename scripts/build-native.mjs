// Compiles Haven's own Node-API addons (core/native/*) with node-gyp, at install (the root
// "prepare" script) and before tsc. Skipped when the built addon is newer than its sources, so
// an edited source is rebuilt and an unchanged one costs nothing.
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gypRebuild } from './node-gyp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Each addon: its folder and the file node-gyp makes there (target_name in its binding.gyp). */
const ADDONS = [{ dir: 'core/native/peer-identity', product: 'build/Release/peer_identity.node' }];

const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs;

function isUpToDate(dir, product) {
  const built = mtime(path.join(dir, product));
  if (built === undefined) return false;
  const sources = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isFile());
  return sources.every((entry) => (mtime(path.join(dir, entry.name)) ?? Infinity) <= built);
}

for (const addon of ADDONS) {
  const dir = path.join(ROOT, addon.dir);
  if (isUpToDate(dir, addon.product)) continue;
  const status = gypRebuild(dir);
  if (status !== 0) {
    console.error(`build-native: node-gyp could not build ${addon.dir} (exit ${status}); a C compiler, make and python3 are needed`);
    process.exit(status);
  }
}
