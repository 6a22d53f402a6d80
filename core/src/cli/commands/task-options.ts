/**
 * The task options shared by `task create`, `task edit` and `backup` — declared once.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { TaskInput } from '../../tasks/task-service.js';
import type { Retention } from '../../tasks/task.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A count of a retention rule: a whole number, or -1 (or "unlimited") for no limit. */
function keepCount(flag: string) {
  return (value: string): number => {
    if (value === 'unlimited') return -1;
    if (!/^(\d+|-1)$/.test(value)) throw new UsageError(`${flag} expects a whole number, or -1 / "unlimited" for no limit, not "${value}"`);
    return Number(value);
  };
}

/** The retention options, shared with `haven forget`. */
export function addRetentionOptions(cmd: Command): Command {
  return cmd
    .option('--keep-last <n>', 'keep the last N versions', keepCount('--keep-last'))
    .option('--keep-hourly <n>', 'keep the last version of each of the last N hours that have one', keepCount('--keep-hourly'))
    .option('--keep-daily <n>', 'keep the last version of each of the last N days that have one', keepCount('--keep-daily'))
    .option('--keep-weekly <n>', 'keep the last version of each of the last N ISO weeks that have one', keepCount('--keep-weekly'))
    .option('--keep-monthly <n>', 'keep the last version of each of the last N months that have one', keepCount('--keep-monthly'))
    .option('--keep-yearly <n>', 'keep the last version of each of the last N years that have one', keepCount('--keep-yearly'))
    .option('--keep-within <duration>', 'keep every version within this long of the newest one, e.g. 1y6m, 14d, 36h');
}

/** What commander parses the retention options into: the policy's own fields. */
export type RawRetentionOptions = Retention;

/** Only the rules given: an edit keeps every rule it does not mention. */
export function toRetention(o: RawRetentionOptions): Retention | undefined {
  const keys: Array<keyof Retention> = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly', 'keepWithin'];
  const given = Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  return Object.keys(given).length ? (given as Retention) : undefined;
}

export function addTaskOptions(cmd: Command, { sourceFlag }: { sourceFlag: boolean }): Command {
  if (sourceFlag) cmd.option('--source <path>', 'a folder or file to back up (repeatable)', collect);
  return addRetentionOptions(cmd)
    .option('--exclude <glob>', 'leave out paths matching this glob (repeatable)', collect)
    .option('--schedule <spec>', 'manual, hourly, "daily HH:MM", "weekly DAY[,DAY] HH:MM", "monthly D HH:MM", "every N minutes|hours", cron "EXPR", on-connect')
    .option('--before <command>', 'shell command run (as the task\'s user) before each run; if it fails, the run fails and nothing is backed up ("" removes it)')
    .option('--after <command>', 'shell command run after each run, with HAVEN_RUN_STATUS set; a failure is a warning on the run ("" removes it)')
    .option('--notify-command <command>', 'shell command run when a run failed, with the run record as JSON on stdin ("" removes it)')
    .addOption(new Option('--password-file <file>', 'file holding the repository password (or set HAVEN_PASSWORD)').conflicts('encryption'))
    .option('--no-encryption', 'store the repository unencrypted (an explicit choice)');
}

export interface RawTaskOptions extends RawRetentionOptions {
  source?: string[];
  dest?: string;
  exclude?: string[];
  schedule?: string;
  passwordFile?: string;
  encryption?: boolean;
  before?: string;
  after?: string;
  notifyCommand?: string;
}

export function toTaskInput(o: RawTaskOptions): TaskInput {
  return {
    sources: o.source,
    excludes: o.exclude,
    destination: o.dest,
    schedule: o.schedule,
    retention: toRetention(o),
    passwordFile: o.passwordFile,
    noEncryption: o.encryption === false,
    commands: o.before !== undefined || o.after !== undefined || o.notifyCommand !== undefined ? { before: o.before, after: o.after, notify: o.notifyCommand } : undefined,
  };
}
