/**
 * Where this Haven's own `@haven/plugin-api` package is. The host provides the API to the plugins
 * it loads, as a peer dependency: an installed plugin gets a link to this folder, and a
 * scaffolded one builds and tests against it.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

/** The real folder of the package (node_modules/@haven/plugin-api is a workspace link). */
export function hostPluginApiDir(): string {
  return realpathSync(path.dirname(require.resolve('@haven/plugin-api/package.json')));
}
