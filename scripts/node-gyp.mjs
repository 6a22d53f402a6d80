// The one way native code is built here: `node-gyp rebuild` on sources we have, never a
// downloaded binary. Shared by build-zstd.mjs (a dependency's binding) and build-native.mjs
// (our own addons).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

// Our devDependency first (a pinned version); else the node-gyp npm itself ships, which npm
// names in npm_config_node_gyp while it runs a lifecycle script (as on `npm ci --omit=dev`).
function nodeGypBin() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = process.env.npm_config_node_gyp;
    if (bundled && existsSync(bundled)) return bundled;
    throw new Error('node-gyp is not installed: run `npm ci` (it is a devDependency of Haven)');
  }
}

// Node's own headers, where this Node was installed with them (Debian's nodejs puts them in
// /usr/include/node): without a nodedir node-gyp would try to download them. npm passes its
// `nodedir` setting down as npm_config_nodedir, which wins.
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** Runs `node-gyp rebuild` in `dir` (which holds binding.gyp); returns its exit status. */
export function gypRebuild(dir) {
  const result = spawnSync(process.execPath, [nodeGypBin(), 'rebuild', ...nodedirArgs()], { cwd: dir, stdio: 'inherit' });
  return result.status ?? 1;
}
