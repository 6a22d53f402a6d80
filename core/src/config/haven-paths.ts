/**
 * Where Haven keeps things, derived once from the environment (cli.md, "State and modes").
 * Environment variables win so tests and administrators can relocate every folder.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HavenPaths {
  /** Task store, run history, caches of this mode. */
  readonly home: string;
  /** Computer-wide settings (plugin enablement, admin group). */
  readonly systemDir: string;
  readonly systemSettingsFile: string;
  /**
   * The user's storage provider credentials (`HAVEN_CREDENTIALS_FILE`, else
   * `<home>/credentials.json`): see core/src/credentials/credentials-file.ts.
   */
  readonly credentialsFile: string;
  /** Plugins' own state: one folder per plugin id below it (PluginContext.storagePath). */
  readonly pluginDataDir: string;
  /** Plugins' secrets (PluginContext.secrets), encrypted with the key in `secretsKeyFile`. */
  readonly secretsFile: string;
  readonly secretsKeyFile: string;
  /** Plugin folders in lookup order: built-in, system, user, then HAVEN_PLUGIN_PATH. */
  readonly pluginFolders: ReadonlyArray<{ dir: string; origin: PluginOrigin }>;
}

export type PluginOrigin = 'builtin' | 'system' | 'user' | 'path';

export const SYSTEM_STATE_DIR = '/var/lib/haven';
export const SYSTEM_PLUGIN_DIR = '/usr/local/lib/haven/plugins';

/** The repository root: core/dist/config/ is three levels below it. */
export const INSTALL_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function resolveHavenPaths(env: NodeJS.ProcessEnv, uid: number): HavenPaths {
  const dataHome = env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), '.local', 'share');
  const systemMode = uid === 0;
  const home = path.resolve(env.HAVEN_HOME || (systemMode ? SYSTEM_STATE_DIR : path.join(dataHome, 'haven')));
  const systemDir = path.resolve(env.HAVEN_SYSTEM_DIR || SYSTEM_STATE_DIR);
  const extra = (env.HAVEN_PLUGIN_PATH || '')
    .split(':')
    .filter((dir) => dir.length > 0)
    .map((dir) => ({ dir: path.resolve(dir), origin: 'path' as const }));
  return {
    home,
    systemDir,
    systemSettingsFile: path.join(systemDir, 'settings.json'),
    credentialsFile: path.resolve(env.HAVEN_CREDENTIALS_FILE || path.join(home, 'credentials.json')),
    pluginDataDir: path.join(home, 'plugin-data'),
    secretsFile: path.join(home, 'plugin-secrets.json'),
    secretsKeyFile: path.join(home, 'plugin-secrets.key'),
    pluginFolders: [
      { dir: path.join(INSTALL_ROOT, 'plugins'), origin: 'builtin' },
      { dir: path.resolve(env.HAVEN_SYSTEM_PLUGIN_DIR || SYSTEM_PLUGIN_DIR), origin: 'system' },
      { dir: path.join(dataHome, 'haven', 'plugins'), origin: 'user' },
      ...extra,
    ],
  };
}

/**
 * The same paths with `dir` looked in before every other plugin folder, so its plugin wins over
 * an installed one of the same id (`plugins check PATH` checks the folder it is given).
 */
export function withPluginFolderFirst(paths: HavenPaths, dir: string): HavenPaths {
  return { ...paths, pluginFolders: [{ dir: path.resolve(dir), origin: 'path' }, ...paths.pluginFolders] };
}
