// Compiles the zstd binding from the sources it ships, with node-gyp. The package's own
// install script would first try to download a prebuilt binary; we never download binaries,
// so that script is not allowed to run (package.json "allowScripts") and this runs instead.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('zstd-napi/package.json'));
if (existsSync(path.join(dir, 'build', 'Release', 'binding.node'))) process.exit(0);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const result = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: dir, stdio: 'inherit' });
process.exit(result.status ?? 1);
