/**
 * The task options shared by `task create`, `task edit` and `backup` — declared once.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { TaskInput } from '../../tasks/task-service.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function wholeNumber(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${flag} expects a whole number, not "${value}"`);
    return Number(value);
  };
}

export function addTaskOptions(cmd: Command, { sourceFlag }: { sourceFlag: boolean }): Command {
  if (sourceFlag) cmd.option('--source <path>', 'a folder or file to back up (repeatable)', collect);
  return cmd
    .option('--exclude <glob>', 'leave out paths matching this glob (repeatable)', collect)
    .option('--schedule <spec>', 'manual, hourly, "daily HH:MM", "weekly DAY[,DAY] HH:MM", "monthly D HH:MM", "every N minutes|hours", cron "EXPR", on-connect')
    .option('--keep-last <n>', 'keep the last N versions', wholeNumber('--keep-last'))
    .option('--keep-daily <n>', 'keep one version a day for N days', wholeNumber('--keep-daily'))
    .option('--keep-weekly <n>', 'keep one version a week for N weeks', wholeNumber('--keep-weekly'))
    .option('--keep-monthly <n>', 'keep one version a month for N months', wholeNumber('--keep-monthly'))
    .option('--before <command>', 'shell command run (as the task\'s user) before each run; if it fails, the run fails and nothing is backed up ("" removes it)')
    .option('--after <command>', 'shell command run after each run, with HAVEN_RUN_STATUS set; a failure is a warning on the run ("" removes it)')
    .option('--notify-command <command>', 'shell command run when a run failed, with the run record as JSON on stdin ("" removes it)')
    .addOption(new Option('--password-file <file>', 'file holding the repository password (or set HAVEN_PASSWORD)').conflicts('encryption'))
    .option('--no-encryption', 'store the repository unencrypted (an explicit choice)');
}

export interface RawTaskOptions {
  source?: string[];
  dest?: string;
  exclude?: string[];
  schedule?: string;
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  passwordFile?: string;
  encryption?: boolean;
  before?: string;
  after?: string;
  notifyCommand?: string;
}

export function toTaskInput(o: RawTaskOptions): TaskInput {
  // Only the flags given: an edit keeps every retention rule it does not mention.
  const retention = Object.fromEntries(
    Object.entries({ keepLast: o.keepLast, keepDaily: o.keepDaily, keepWeekly: o.keepWeekly, keepMonthly: o.keepMonthly }).filter(([, v]) => v !== undefined),
  );
  return {
    sources: o.source,
    excludes: o.exclude,
    destination: o.dest,
    schedule: o.schedule,
    retention: Object.keys(retention).length ? retention : undefined,
    passwordFile: o.passwordFile,
    noEncryption: o.encryption === false,
    commands: o.before !== undefined || o.after !== undefined || o.notifyCommand !== undefined ? { before: o.before, after: o.after, notify: o.notifyCommand } : undefined,
  };
}
