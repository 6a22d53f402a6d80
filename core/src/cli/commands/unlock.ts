/** `haven unlock NAME [--all]`: remove stale repository locks (or every other lock). */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { interruptible } from '../interruptible.js';
import { printJson, printLines, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';

export function registerUnlockCommand(program: Command, action: CommandAction): void {
  program.command('unlock <name>').description("remove stale locks from the task's repository (left by a crashed or killed run)")
    .option('--all', 'also remove locks of live processes — only when you know no other haven uses the repository')
    .option('--json', 'print the removed locks as JSON')
    .action(action(async (name: string, o: CommonOptions & { all?: boolean }) => {
      const removed = await interruptible((signal) => client().call('unlock', { name, all: o.all === true }, { signal }));
      if (o.json) return printJson(removed);
      if (!removed.length) return printLines(['no stale locks']);
      printLines(removed.map((l) => `removed lock ${l.id}${l.record ? ` (host ${l.record.host}, pid ${l.record.pid})` : ''}${l.stale ? `: ${l.stale}` : ''}`));
    }));
}
