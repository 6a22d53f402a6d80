/**
 * `haven plugins install PATH|TARBALL [--system] [--force]` and `haven plugins uninstall ID
 * [--system]`: the user's own plugin folder by default; the system one, for every user of the
 * computer, only for administrators (the `plugins.manage` right, as enable and disable).
 */
import type { Command } from 'commander';
import { services, type Services } from '../cli-context.js';
import { printJson, printLines, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';
import { installPlugin, type PluginFolder } from '../../plugins/install/plugin-installer.js';
import { uninstallPlugin } from '../../plugins/install/plugin-uninstaller.js';

interface FolderOptions extends CommonOptions {
  system?: boolean;
}

/** The plugin folder the command works on, after checking the caller may change it. */
async function targetFolder(s: Services, o: FolderOptions): Promise<PluginFolder> {
  const origin = o.system ? 'system' : 'user';
  if (origin === 'system') await s.authorizer.require(s.identity, 'plugins.manage');
  const folder = s.paths.pluginFolders.find((f) => f.origin === origin)!;
  return { dir: folder.dir, origin };
}

export function registerPluginInstallCommands(plugins: Command, action: CommandAction): void {
  plugins.command('install <path>').description('install a plugin from its folder (packed as npm would) or a package tarball (.tgz) into your plugin folder')
    .option('--system', 'into the system plugin folder, for every user (administrators only)')
    .option('--force', 'replace an installed plugin of the same id')
    .option('--json', 'print JSON')
    .action(action(async (source: string, o: FolderOptions & { force?: boolean }) => {
      const s = await services();
      const installed = await installPlugin(source, await targetFolder(s, o), { force: o.force === true });
      // What Haven now makes of it: another plugin may still shadow it or claim its provider type.
      s.plugins.reset();
      const info = (await s.plugins.list()).find((p) => p.dir === installed.dir);
      if (info && info.state !== 'ready') process.stderr.write(`haven: plugin "${installed.id}" is installed, but Haven cannot use it as things are: ${info.reason}\n`);
      if (o.json) return printJson({ ...installed, state: info?.state, reason: info?.reason });
      printLines([
        `${installed.replaced ? 'replaced' : 'installed'} plugin "${installed.id}" ${installed.version} (${installed.name}) in ${installed.dir} (${installed.origin} plugin folder)`,
        ...(installed.dependencies.length ? [`dependencies: ${installed.dependencies.join(', ')}`] : []),
        `state: ${info?.state ?? 'not found'}`,
      ]);
    }));

  plugins.command('uninstall <id>').description('remove a plugin installed in your plugin folder (or, --system, the system one)')
    .option('--system', 'from the system plugin folder (administrators only)')
    .option('--json', 'print JSON')
    .action(action(async (id: string, o: FolderOptions) => {
      const s = await services();
      const removed = await uninstallPlugin(s.plugins, id, await targetFolder(s, o));
      if (o.json) return printJson(removed);
      const types = removed.storageProviders.map((p) => p.type);
      printLines([
        `uninstalled plugin "${removed.id}" ${removed.version} from ${removed.dir}`,
        ...(types.length ? [`tasks with a ${types.map((t) => `${t}:`).join(' or ')} destination are skipped until a plugin provides it again (their data is kept)`] : []),
      ]);
    }));
}
