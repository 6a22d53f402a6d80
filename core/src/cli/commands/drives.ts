/** `haven drives`: the removable drives connected now, and the tasks that use each. */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { formatBytes, printJson, printLines, table, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';

export function registerDrivesCommand(program: Command, action: CommandAction): void {
  program.command('drives').description('removable drives connected now: label, UUID, file system, mount point, free space, and the tasks that use each')
    .option('--json', 'print JSON')
    .action(action(async (o: CommonOptions) => {
      const drives = await client().call('drives', {});
      if (o.json) return printJson(drives);
      if (!drives.length) return printLines(['no drives connected']);
      printLines(table(
        ['LABEL', 'UUID', 'FS', 'MOUNTED AT', 'FREE', 'TASKS'],
        drives.map((d) => [d.label ?? '-', d.uuid ?? '-', d.fileSystem ?? '-', d.mountPoint ?? '-', d.freeBytes !== undefined ? formatBytes(d.freeBytes) : '-', d.tasks.join(', ') || '-']),
      ));
    }));
}
