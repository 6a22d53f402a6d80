/** `haven plugins new NAME [--dir DIR]`: a new plugin package, ready to build, test and install. */
import type { Command } from 'commander';
import * as path from 'node:path';
import { printJson, printLines, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';
import { scaffoldPlugin } from '../../plugins/plugin-scaffold.js';

export function registerPluginNewCommand(plugins: Command, action: CommandAction): void {
  plugins.command('new <name>').description('write a new storage plugin package (id and provider type NAME), ready to build, test and install')
    .option('--dir <dir>', 'where to write it: a new or empty folder (default ./haven-plugin-NAME)')
    .option('--json', 'print JSON')
    .action(action(async (name: string, o: CommonOptions & { dir?: string }) => {
      const made = scaffoldPlugin(name, o.dir);
      if (o.json) return printJson(made);
      const cd = path.relative(process.cwd(), made.dir) || '.';
      printLines([
        `created plugin "${made.id}" (package ${made.packageName}) in ${made.dir}:`,
        ...made.files.map((f) => `  ${f}`),
        'next:',
        `  cd ${cd} && npm install && npm run build && npm test`,
        `  haven plugins install ${made.dir}`,
      ]);
    }));
}
