/**
 * `haven plugins uninstall ID`: removes a plugin that `plugins install` (or a copy by hand) put
 * directly in the user or system plugin folder. Every other plugin is someone else's to remove,
 * so the refusal says whose: Haven's own, npm's (which `npm uninstall` to run), HAVEN_PLUGIN_PATH's,
 * or the other plugin folder's.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../errors.js';
import type { PluginHost, PluginInfo } from '../plugin-host.js';
import type { PluginFolder } from './plugin-installer.js';

/** Why the plugin found at `p.dir` is not uninstalled from `folder`. */
function refusal(p: PluginInfo, folder: PluginFolder): string {
  const parts = p.dir.split(path.sep);
  const modules = parts.lastIndexOf('node_modules');
  if (modules > 0) {
    const project = parts.slice(0, modules).join(path.sep);
    const pkg = parts.slice(modules + 1).join('/');
    return `plugin "${p.id}" was installed with npm (${p.dir}): remove it with "npm uninstall ${pkg}" in ${project}`;
  }
  switch (p.origin) {
    case 'builtin':
      return `plugin "${p.id}" is built into Haven (${p.dir}) and cannot be uninstalled; an administrator can disable it: haven plugins disable ${p.id}`;
    case 'path':
      return `plugin "${p.id}" is found through HAVEN_PLUGIN_PATH (${p.dir}): take its folder out of HAVEN_PLUGIN_PATH`;
    case 'system':
      return `plugin "${p.id}" is installed in the system plugin folder (${p.dir}): an administrator removes it with "haven plugins uninstall ${p.id} --system"`;
    case 'user':
      return folder.origin === 'system'
        ? `plugin "${p.id}" is installed in your user plugin folder (${p.dir}), not the system one: uninstall it without --system`
        : `plugin "${p.id}" is in ${p.dir}, not directly in the user plugin folder ${folder.dir}: remove it by hand`;
  }
}

export async function uninstallPlugin(host: PluginHost, id: string, folder: PluginFolder): Promise<PluginInfo> {
  // Every plugin of that id, in lookup order (shadowed copies too); an invalid one by its folder name.
  const found = (await host.list()).filter((p) => p.id === id || (p.state === 'invalid' && path.basename(p.dir) === id));
  const mine = found.find((p) => path.dirname(p.dir) === folder.dir);
  if (!mine) {
    if (found.length === 0) throw new UsageError(`no plugin "${id}" (see "haven plugins list")`);
    throw new UsageError(refusal(found[0], folder));
  }
  // Out of sight first (discovery skips hidden folders), so a failed removal leaves no half plugin.
  const trash = mkdtempSync(path.join(folder.dir, '.removing-'));
  renameSync(mine.dir, path.join(trash, 'plugin'));
  rmSync(trash, { recursive: true, force: true });
  return mine;
}
