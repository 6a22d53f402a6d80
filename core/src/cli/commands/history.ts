/** `haven history [NAME] [--limit N]`. */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { formatBytes, printJson, printLines, table, type CommonOptions } from '../output.js';
import { UsageError } from '../../errors.js';
import type { CommandAction } from '../command-action.js';

export function registerHistoryCommand(program: Command, action: CommandAction): void {
  program.command('history [name]').description('runs, newest first (running: in progress; interrupted: its process was killed or crashed)')
    .option('--limit <n>', 'show at most N runs', (v: string) => {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--limit expects a whole number ≥ 1, not "${v}"`);
      return Number(v);
    })
    .option('--json', 'print JSON')
    .action(action(async (name: string | undefined, o: CommonOptions & { limit?: number }) => {
      const runs = await client().call('history', { name, limit: o.limit });
      if (o.json) return printJson(runs);
      if (!runs.length) return printLines(['no runs yet']);
      printLines(table(
        ['STARTED', 'TASK', 'TRIGGER', 'STATUS', 'FILES', 'READ', 'ADDED', 'VERSION / REASON'],
        runs.map((r) => [r.startedAt.replace('T', ' ').slice(0, 19), r.task, r.trigger, r.warnings?.length ? `${r.status} (${r.warnings.length} warning${r.warnings.length > 1 ? 's' : ''})` : r.status, String(r.files), formatBytes(r.bytesRead), formatBytes(r.bytesAdded), r.snapshot?.slice(0, 12) ?? r.reason ?? '']),
      ));
    }));
}
