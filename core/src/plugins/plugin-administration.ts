/**
 * Changing which plugins the computer (or a user) has: enable, disable, install, uninstall.
 * Each method takes the caller and asks for the `plugins.manage` right itself where the change
 * reaches other users (enable/disable, the system plugin folder) — the CLI only renders.
 */
import { inject, injectable } from 'inversify';
import {
  Authorizer as AuthorizerId,
  HavenPaths as HavenPathsId,
  PluginHost as PluginHostId,
  SystemSettingsStore as SettingsId,
} from '../di/service-identifiers.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { Identity } from '../auth/identity.js';
import type { HavenPaths } from '../config/haven-paths.js';
import type { SystemSettingsStore } from '../config/system-settings.js';
import { UsageError } from '../errors.js';
import type { PluginHost, PluginInfo } from './plugin-host.js';
import { installPlugin, type InstalledPlugin, type PluginFolder } from './install/plugin-installer.js';
import { uninstallPlugin } from './install/plugin-uninstaller.js';

export interface PluginAdministration {
  /** Enables or disables a plugin for every user (administrators only); returns its new state. */
  setEnabled(caller: Identity, id: string, enabled: boolean): Promise<PluginInfo>;
  /** Installs into the caller's plugin folder, or (`system`, administrators) the system one; with what Haven makes of it. */
  install(caller: Identity, source: string, options: { system: boolean; force: boolean }): Promise<InstalledPlugin & { info?: PluginInfo }>;
  uninstall(caller: Identity, id: string, options: { system: boolean }): Promise<PluginInfo>;
}

@injectable()
export class PluginAdministrationImpl implements PluginAdministration {
  constructor(
    @inject(AuthorizerId) private readonly authorizer: Authorizer,
    @inject(PluginHostId) private readonly plugins: PluginHost,
    @inject(SettingsId) private readonly settings: SystemSettingsStore,
    @inject(HavenPathsId) private readonly paths: HavenPaths,
  ) {}

  async setEnabled(caller: Identity, id: string, enabled: boolean): Promise<PluginInfo> {
    await this.authorizer.require(caller, 'plugins.manage');
    const info = await this.plugins.info(id);
    const verb = enabled ? 'enabled' : 'disabled';
    if (info.state === 'invalid' || info.state === 'shadowed') throw new UsageError(`plugin "${id}" cannot be ${verb}: ${info.reason}`);
    await this.settings.update((settings) => {
      settings.disabledPlugins = settings.disabledPlugins.filter((d) => d.id !== id);
      if (!enabled) settings.disabledPlugins.push({ id, by: caller.name, at: new Date().toISOString() });
    });
    await this.plugins.reset();
    return this.plugins.info(id);
  }

  /** The plugin folder a change goes to, once the caller may change it. */
  private async folder(caller: Identity, system: boolean): Promise<PluginFolder> {
    const origin = system ? 'system' : 'user';
    if (system) await this.authorizer.require(caller, 'plugins.manage');
    const folder = this.paths.pluginFolders.find((f) => f.origin === origin)!;
    return { dir: folder.dir, origin };
  }

  async install(caller: Identity, source: string, options: { system: boolean; force: boolean }): Promise<InstalledPlugin & { info?: PluginInfo }> {
    const installed = await installPlugin(source, await this.folder(caller, options.system), { force: options.force });
    // What Haven now makes of it: another plugin may still shadow it or claim its provider type.
    await this.plugins.reset();
    const info = (await this.plugins.list()).find((p) => p.dir === installed.dir);
    return { ...installed, info };
  }

  async uninstall(caller: Identity, id: string, options: { system: boolean }): Promise<PluginInfo> {
    return uninstallPlugin(this.plugins, id, await this.folder(caller, options.system));
  }
}
