/**
 * Calendar fields of an instant in a time zone, for the retention rules: which hour, day, ISO
 * week, month and year a snapshot belongs to is a question about the wall clock of the zone
 * the user lives in, not about UTC. `Intl.DateTimeFormat` is the only zone database Node
 * ships, so the fields come from it; no time zone means the process's own (TZ, /etc/localtime).
 */
import { UsageError } from '../errors.js';

export interface CalendarFields {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
  /** 0–23. */
  hour: number;
  minute: number;
  second: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Date.UTC without its quirk of reading years 0–99 as 1900–1999; fields out of range roll over. */
function utc(year: number, month0: number, day: number, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month0, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** One formatter per zone: building one is far slower than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        calendar: 'gregory',
        numberingSystem: 'latn',
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(`unknown time zone "${timeZone}" (use an IANA name such as Europe/Paris or UTC)`);
      throw err;
    }
    formatters.set(key, f);
  }
  return f;
}

/** Throws a UsageError naming the zone when Intl does not know it. */
export function checkTimeZone(timeZone: string | undefined): void {
  formatter(timeZone);
}

/** The wall-clock fields of `ms` (epoch milliseconds) in `timeZone`. */
export function calendarFields(ms: number, timeZone?: string): CalendarFields {
  const out: CalendarFields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  let bc = false;
  for (const part of formatter(timeZone).formatToParts(ms)) {
    if (part.type === 'era') bc = part.value.startsWith('B');
    else if (part.type in out) out[part.type as keyof CalendarFields] = Number(part.value);
  }
  // Years before 1 AD come as "n BC"; astronomical numbering keeps the arithmetic continuous.
  if (bc) out.year = 1 - out.year;
  return out;
}

/** The ISO 8601 week of a calendar date: weeks start on Monday, week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = utc(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  // The Thursday of the same week decides which year the week belongs to.
  const thursday = date + (3 - weekday) * DAY_MS;
  const isoYear = new Date(thursday).getUTCFullYear();
  return { year: isoYear, week: 1 + Math.floor((thursday - utc(isoYear, 0, 1)) / (7 * DAY_MS)) };
}

/** How far the zone's wall clock is ahead of UTC at `ms`. */
function zoneOffset(ms: number, timeZone: string | undefined): number {
  const f = calendarFields(ms, timeZone);
  const wall = utc(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) + (((ms % 1000) + 1000) % 1000);
  return wall - ms;
}

/**
 * `ms` moved back by whole years, months and days on the zone's calendar (same wall-clock time,
 * out-of-range days rolling over: 31 March minus one month is 3 March), then by
 * hours of elapsed time. A wall-clock time that a daylight-saving change skips or repeats
 * resolves to one of its neighbours.
 */
export function subtractCalendar(ms: number, d: { years: number; months: number; days: number; hours: number }, timeZone?: string): number {
  const f = calendarFields(ms, timeZone);
  const wall = utc(f.year - d.years, f.month - 1 - d.months, f.day - d.days, f.hour, f.minute, f.second) + (((ms % 1000) + 1000) % 1000);
  // The offset at the result may differ from the one at `ms` (DST): guess, then correct once.
  let instant = wall - zoneOffset(ms, timeZone);
  instant = wall - zoneOffset(instant, timeZone);
  return instant - d.hours * 60 * 60 * 1000;
}
