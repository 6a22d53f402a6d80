/** `haven schedule`: when each task you can see runs next, and how its last run went. */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { printJson, printLines, table, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';

/** A time as the user reads it: local, to the minute. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function registerScheduleCommand(program: Command, action: CommandAction): void {
  program.command('schedule').description('when each task you can see runs next').option('--json', 'print JSON')
    .action(action(async (o: CommonOptions) => {
      const listing = await client().call('schedule', {});
      if (o.json) return printJson(listing);
      if (!listing.tasks.length) return printLines(['no tasks yet']);
      printLines(table(
        ['NAME', 'SCHEDULE', 'NEXT RUN', 'LAST RUN'],
        listing.tasks.map((t) => [t.name, t.schedule, t.next ? localTime(t.next) : '-', t.lastRun ? `${t.lastRun.status} (${t.lastRun.trigger}) ${localTime(t.lastRun.startedAt)}` : '-']),
      ));
      if (!listing.schedulerRunning && listing.tasks.some((t) => t.next)) {
        process.stderr.write('haven: no Haven service is running: scheduled tasks start by themselves only while "haven service" (system mode) or "haven service --user" runs\n');
      }
    }));
}
