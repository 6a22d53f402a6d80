/**
 * When a schedule falls due, computed here with an explicit time zone rather than by
 * node-schedule's own recurrence rules (which skip an hour when clocks go back). Calendar forms
 * become cron expressions read by cron-parser in the zone: `daily 02:30` then runs once on the
 * day 02:30 does not exist (at 03:30, when clocks go forward) and once on the day it exists
 * twice (the first 02:30). `every N minutes|hours` counts from the Unix epoch, so it never
 * depends on a zone or on when the service started.
 */
import { CronExpressionParser } from 'cron-parser';
import type { ScheduleSpec } from './schedule-spec.js';

/** The zone the computer runs in (TZ, else /etc/localtime), as the schedule's clock times mean. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The cron expression of a calendar schedule; undefined for one without times. */
function cronOf(spec: ScheduleSpec): string | undefined {
  switch (spec.kind) {
    case 'hourly':
      return '0 * * * *';
    case 'daily':
      return `${spec.minute} ${spec.hour} * * *`;
    case 'weekly':
      return `${spec.minute} ${spec.hour} * * ${spec.days.join(',')}`;
    case 'monthly':
      // A month without that day (31 in April) has no run, as with cron.
      return `${spec.minute} ${spec.hour} ${spec.day} * *`;
    case 'cron':
      return spec.expression;
    default:
      return undefined;
  }
}

/** Whether the schedule starts runs by the clock (not `manual`, not `on-connect`). */
export function isTimed(spec: ScheduleSpec): boolean {
  return spec.kind === 'every' || cronOf(spec) !== undefined;
}

/** The first due time strictly after `after`, or null for a schedule without times. */
export function nextDue(spec: ScheduleSpec, after: Date, timeZone = localTimeZone()): Date | null {
  if (spec.kind === 'every') {
    const step = spec.minutes * 60_000;
    return new Date((Math.floor(after.getTime() / step) + 1) * step);
  }
  const cron = cronOf(spec);
  if (!cron) return null;
  return CronExpressionParser.parse(cron, { currentDate: after, tz: timeZone }).next().toDate();
}

/** The latest due time at or before `at`, or null (none, or no times). */
export function lastDue(spec: ScheduleSpec, at: Date, timeZone = localTimeZone()): Date | null {
  if (spec.kind === 'every') {
    const step = spec.minutes * 60_000;
    return new Date(Math.floor(at.getTime() / step) * step);
  }
  const cron = cronOf(spec);
  if (!cron) return null;
  try {
    // prev() looks strictly before its start: start 1 ms later to include `at` itself.
    return CronExpressionParser.parse(cron, { currentDate: new Date(at.getTime() + 1), tz: timeZone }).prev().toDate();
  } catch {
    return null; // no occurrence in the past cron-parser looks at
  }
}
