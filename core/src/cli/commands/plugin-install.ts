/**
 * `haven plugins install PATH|TARBALL [--system] [--force]` and `haven plugins uninstall ID
 * [--system]`: the user's own plugin folder by default; the system one, for every user of the
 * computer, only for administrators (the `plugins.manage` right, as enable and disable).
 */
import type { Command } from 'commander';
import { services } from '../cli-context.js';
import { printJson, printLines, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';

interface FolderOptions extends CommonOptions {
  system?: boolean;
}

export function registerPluginInstallCommands(plugins: Command, action: CommandAction): void {
  plugins.command('install <path>').description('install a plugin from its folder (packed as npm would) or a package tarball (.tgz) into your plugin folder')
    .option('--system', 'into the system plugin folder, for every user (administrators only)')
    .option('--force', 'replace an installed plugin of the same id')
    .option('--json', 'print JSON')
    .action(action(async (source: string, o: FolderOptions & { force?: boolean }) => {
      const s = await services();
      const { info, ...installed } = await s.pluginAdmin.install(s.caller, source, { system: o.system === true, force: o.force === true });
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
      const removed = await s.pluginAdmin.uninstall(s.caller, id, { system: o.system === true });
      if (o.json) return printJson(removed);
      const types = removed.storageProviders.map((p) => p.type);
      printLines([
        `uninstalled plugin "${removed.id}" ${removed.version} from ${removed.dir}`,
        ...(types.length ? [`tasks with a ${types.map((t) => `${t}:`).join(' or ')} destination are skipped until a plugin provides it again (their data is kept)`] : []),
      ]);
    }));
}
