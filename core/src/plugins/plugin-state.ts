/**
 * What a plugin keeps for the user running Haven (API 1.1.0): its own folder
 * (PluginContext.storagePath) and its secrets (PluginContext.secrets), both keyed by plugin id
 * so one plugin's state is never another's by accident. (Not a wall between plugins: they all
 * run in the same process, with the same rights.)
 */
import * as path from 'node:path';
import type { PluginSecrets } from '@haven/plugin-api';
import type { HavenPaths } from '../config/haven-paths.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { ensureStateDirSync } from '../util/state-dir.js';

/** `<plugin-data>/<id>/`, made 0700 (and its parent) the first time a plugin asks for it. */
export function pluginStoragePath(paths: HavenPaths, pluginId: string): string {
  const dir = path.join(paths.pluginDataDir, pluginId);
  ensureStateDirSync(dir);
  return dir;
}

const SECRET_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** The secret store as one plugin sees it: its own names only, checked before any file is touched. */
export function pluginSecrets(store: SecretStore, pluginId: string): PluginSecrets {
  const checkName = (name: unknown): string => {
    if (typeof name !== 'string' || !SECRET_NAME.test(name)) {
      throw new TypeError(`plugin "${pluginId}": a secret name is 1 to 128 characters of A-Z a-z 0-9 . _ - (got ${typeof name === 'string' ? JSON.stringify(name) : typeof name})`);
    }
    return name;
  };
  return Object.freeze({
    get: async (name: string) => store.get(pluginId, checkName(name)),
    set: async (name: string, value: string) => {
      // The value is never quoted back: it is a secret.
      if (typeof value !== 'string') throw new TypeError(`plugin "${pluginId}": the value of secret "${checkName(name)}" must be a string (got ${typeof value})`);
      await store.set(pluginId, checkName(name), value);
    },
    delete: async (name: string) => store.delete(pluginId, checkName(name)),
  });
}
