/**
 * Parsing of `--schedule` (cli.md): manual, hourly, daily HH:MM, weekly DAY[,DAY] HH:MM,
 * monthly D HH:MM, every N minutes|hours, cron "EXPR", on-connect. Tasks store the text; the
 * scheduler works from the parsed form.
 */
import { CronExpressionParser } from 'cron-parser';
import { UsageError } from '../errors.js';

export type ScheduleSpec =
  | { kind: 'manual' }
  | { kind: 'hourly' }
  | { kind: 'daily'; hour: number; minute: number }
  | { kind: 'weekly'; days: number[]; hour: number; minute: number }
  | { kind: 'monthly'; day: number; hour: number; minute: number }
  | { kind: 'every'; minutes: number }
  | { kind: 'cron'; expression: string }
  | { kind: 'on-connect' };

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** A day by its three-letter abbreviation or its full English name; -1 for anything else. */
function dayNumber(text: string): number {
  const t = text.toLowerCase();
  return Math.max(DAYS.indexOf(t), DAY_NAMES.indexOf(t));
}

function parseTime(text: string | undefined, spec: string): { hour: number; minute: number } {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text ?? '');
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new UsageError(`schedule "${spec}": expected a time HH:MM (00:00–23:59)`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

export function parseSchedule(spec: string): ScheduleSpec {
  const text = spec.trim().replace(/\s+/g, ' ');
  const [head, ...rest] = text.split(' ');
  switch (head.toLowerCase()) {
    case 'manual':
    case 'hourly':
    case 'on-connect':
      if (rest.length) break;
      return { kind: head.toLowerCase() as 'manual' | 'hourly' | 'on-connect' };
    case 'daily':
      if (rest.length !== 1) break;
      return { kind: 'daily', ...parseTime(rest[0], spec) };
    case 'weekly': {
      if (rest.length !== 2) break;
      const names = rest[0].split(',');
      const unknown = names.find((d) => dayNumber(d) < 0);
      if (unknown !== undefined) throw new UsageError(`schedule "${spec}": "${unknown}" is not a day; days are mon,tue,wed,thu,fri,sat,sun (or their full names)`);
      const days = names.map(dayNumber);
      return { kind: 'weekly', days: [...new Set(days)].sort(), ...parseTime(rest[1], spec) };
    }
    case 'monthly': {
      const day = Number(rest[0]);
      if (rest.length !== 2 || !Number.isInteger(day) || day < 1 || day > 31) break;
      return { kind: 'monthly', day, ...parseTime(rest[1], spec) };
    }
    case 'every': {
      const n = Number(rest[0]);
      const unit = (rest[1] ?? '').toLowerCase();
      if (rest.length !== 2 || !Number.isInteger(n) || n < 1) break;
      if (/^minutes?$/.test(unit)) return { kind: 'every', minutes: n };
      if (/^hours?$/.test(unit)) return { kind: 'every', minutes: n * 60 };
      break;
    }
    case 'cron': {
      const expression = rest.join(' ').replace(/^"(.*)"$/, '$1');
      const fields = expression.split(' ');
      if (fields.length !== 5 || !fields.every((f) => /^[\d*/,\-A-Za-z?LW#]+$/.test(f))) {
        throw new UsageError(`schedule "${spec}": a cron expression has 5 fields (minute hour day-of-month month day-of-week), e.g. cron "30 2 * * 1-5"`);
      }
      try {
        // Ranges, names and steps, as the scheduler will read them.
        CronExpressionParser.parse(expression, { strict: false });
      } catch (err) {
        throw new UsageError(`schedule "${spec}": ${(err as Error).message}`);
      }
      return { kind: 'cron', expression };
    }
  }
  throw new UsageError(
    `schedule "${spec}" is not understood; use manual, hourly, daily HH:MM, weekly DAY[,DAY] HH:MM, monthly D HH:MM, every N minutes|hours, cron "EXPR" or on-connect`,
  );
}
