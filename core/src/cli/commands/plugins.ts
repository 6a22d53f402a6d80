/** `haven plugins list | info ID | enable ID | disable ID | new NAME | install PATH | uninstall ID | check ID|PATH --location L`. */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { printJson, printLines, table, type CommonOptions } from '../output.js';
import type { PluginInfo } from '../../plugins/plugin-host.js';
import type { CommandAction } from '../command-action.js';
import { registerPluginCheckCommand } from './plugin-check.js';
import { registerPluginNewCommand } from './plugin-new.js';
import { registerPluginInstallCommands } from './plugin-install.js';

function provides(p: PluginInfo): string {
  return [
    ...p.storageProviders.map((x) => `storage:${x.type}${x.available ? '' : ' (not available yet)'}`),
    ...p.sourceHandlers.map((x) => `source:${x.id}${x.available ? '' : ' (not available yet)'}`),
  ].join(', ');
}

function describe(p: PluginInfo): string[] {
  return [
    `id:           ${p.id}`,
    `name:         ${p.displayName}`,
    `version:      ${p.version}`,
    ...(p.description ? [`description:  ${p.description}`] : []),
    `state:        ${p.state}${p.reason ? ` — ${p.reason}` : ''}`,
    `folder:       ${p.dir} (${p.origin})`,
    `needs API:    ${p.engines}`,
    `activation:   ${p.activationEvents.join(', ') || '(never)'}`,
    ...p.storageProviders.map((x) => `provides:     storage provider "${x.type}": ${x.description}${x.available ? '' : ' — NOT AVAILABLE YET: declared, not implemented in this version; tasks using it do not run'}`),
    ...p.sourceHandlers.map((x) => `provides:     source handler "${x.id}": ${x.description}${x.available ? '' : ' — NOT AVAILABLE YET: declared, not implemented in this version'}`),
    ...p.tapFailures.map((f) => `hook failure: ${f.hook}: ${f.message}`),
  ];
}

export function registerPluginCommands(program: Command, action: CommandAction): void {
  const plugins = program.command('plugins').description('list, write, install and check plugins; administrators enable and disable them for the whole computer');

  plugins.command('list').description('every plugin found, with its state').option('--json', 'print JSON')
    .action(action(async (o: CommonOptions) => {
      const list = await client().call('plugins.list', {});
      if (o.json) return printJson(list);
      printLines(table(['ID', 'VERSION', 'STATE', 'PROVIDES', 'FROM'], list.map((p) => [p.id, p.version, p.state, provides(p), p.origin])));
      for (const p of list) if (p.reason && p.state !== 'disabled') process.stderr.write(`haven: plugin ${p.id}: ${p.reason}\n`);
    }));

  plugins.command('info <id>').description('one plugin in full').option('--json', 'print JSON')
    .action(action(async (id: string, o: CommonOptions) => {
      const info = await client().call('plugins.info', { id });
      if (o.json) printJson(info);
      else printLines(describe(info));
    }));

  for (const verb of ['enable', 'disable'] as const) {
    plugins.command(`${verb} <id>`).description(`${verb} a plugin for every user of this computer (administrators only)`).option('--json', 'print JSON')
      .action(action(async (id: string, o: CommonOptions) => {
        const after = await client().call('plugins.setEnabled', { id, enabled: verb === 'enable' });
        if (o.json) printJson(after);
        else printLines([`plugin "${id}" is now ${after.state}${verb === 'disable' ? ' (its tasks and data are kept; they run again once it is enabled)' : ''}`]);
      }));
  }

  registerPluginNewCommand(plugins, action);
  registerPluginInstallCommands(plugins, action);
  registerPluginCheckCommand(plugins, action);
}
