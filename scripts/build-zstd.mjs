// Compiles the zstd binding from the sources it ships, with node-gyp. The package's own
// install script would first try to download a prebuilt binary; we never download binaries,
// so that script is not allowed to run (package.json "allowScripts") and this runs instead.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { gypRebuild } from './node-gyp.mjs';

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('zstd-napi/package.json'));
if (existsSync(path.join(dir, 'build', 'Release', 'binding.node'))) process.exit(0);
process.exit(gypRebuild(dir));
