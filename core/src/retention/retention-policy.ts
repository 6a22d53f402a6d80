/**
 * Which snapshots a retention policy keeps: restic's `forget` rules, so that a policy means
 * what a restic user expects.
 *
 * - Snapshots are taken newest first. Each count rule (last, hourly, daily, weekly, monthly,
 *   yearly) has its own counter and remembers the period (hour, day, ISO week, month, year on
 *   the wall clock of the chosen time zone) of the last snapshot it kept. A snapshot whose
 *   period differs from that one is kept by the rule, which uses up one count; `last` treats
 *   every snapshot as its own period. A count of -1 never runs out; 0 turns the rule off.
 * - The oldest snapshot is also kept by every rule that still has counts left, even when its
 *   period is one the rule already kept ("oldest daily snapshot"): a policy asking for more
 *   history than exists keeps all the history there is.
 * - keep-within keeps every snapshot strictly newer than the newest snapshot (one not in the
 *   future) minus the duration, the duration's years, months and days counted on the calendar.
 * - A snapshot kept by any rule is kept; `reasons` names every rule that kept it.
 * - A policy with no rule keeps everything: forgetting without a policy never empties a task.
 */
import { UsageError } from '../errors.js';
import { calendarFields, checkTimeZone, isoWeek, subtractCalendar } from './calendar.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** A duration such as `1y2m3d4h`, counted back from the newest snapshot. */
  keepWithin?: string;
}

export interface Duration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

export interface SnapshotTime {
  id: string;
  /** ISO 8601. */
  time: string;
}

export interface PolicyOutcome<T extends SnapshotTime> {
  /** Newest first, with the rules that kept each. */
  keep: Array<T & { reasons: string[] }>;
  /** Newest first. */
  remove: T[];
}

const UNITS: Record<string, keyof Duration> = { y: 'years', m: 'months', d: 'days', h: 'hours' };

/** Parses `1y2m3d4h` (any of the four units, each at most once, in any order). */
export function parseDuration(text: string): Duration {
  const s = String(text).trim();
  const bad = (why: string): UsageError => new UsageError(`"${text}" is not a duration: ${why} (write e.g. 1y2m3d4h: years, months, days, hours)`);
  if (s === '') throw bad('it is empty');
  const d: Duration = { years: 0, months: 0, days: 0, hours: 0 };
  const seen = new Set<string>();
  const re = /(\d+)([a-zA-Z]?)/y;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) throw bad(s[at] === '-' ? 'it must not be negative' : `"${s[at]}" is not a number`);
    const [, digits, unit] = m;
    if (unit === '') throw bad(`no unit after ${digits}`);
    const field = UNITS[unit];
    if (!field) throw bad(`unknown unit "${unit}"`);
    if (seen.has(unit)) throw bad(`the unit "${unit}" is given twice`);
    seen.add(unit);
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) throw bad(`${digits} is too large`);
    d[field] = n;
    at = re.lastIndex;
  }
  return d;
}

/** The canonical text of a duration (zero fields left out), as reasons show it. */
export function formatDuration(d: Duration): string {
  const s = (d.years ? `${d.years}y` : '') + (d.months ? `${d.months}m` : '') + (d.days ? `${d.days}d` : '') + (d.hours ? `${d.hours}h` : '');
  return s || '0h';
}

function isZero(d: Duration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}

/** A count rule: its option, how it names a snapshot it keeps, and the period of an instant. */
interface CountRule {
  key: Exclude<keyof RetentionPolicy, 'keepWithin'>;
  option: string;
  reason: string;
  /** The period a snapshot falls in; `index` makes every snapshot its own period (keep-last). */
  period: (ms: number, index: number, timeZone: string | undefined) => number;
}

const ymdh = (ms: number, tz: string | undefined): number => {
  const f = calendarFields(ms, tz);
  return ((f.year * 100 + f.month) * 100 + f.day) * 100 + f.hour;
};

const COUNT_RULES: readonly CountRule[] = [
  { key: 'keepLast', option: '--keep-last', reason: 'last snapshot', period: (_ms, i) => i },
  { key: 'keepHourly', option: '--keep-hourly', reason: 'hourly snapshot', period: (ms, _i, tz) => ymdh(ms, tz) },
  { key: 'keepDaily', option: '--keep-daily', reason: 'daily snapshot', period: (ms, _i, tz) => Math.floor(ymdh(ms, tz) / 100) },
  {
    key: 'keepWeekly',
    option: '--keep-weekly',
    reason: 'weekly snapshot',
    period: (ms, _i, tz) => {
      const f = calendarFields(ms, tz);
      const w = isoWeek(f.year, f.month, f.day);
      return w.year * 100 + w.week;
    },
  },
  { key: 'keepMonthly', option: '--keep-monthly', reason: 'monthly snapshot', period: (ms, _i, tz) => Math.floor(ymdh(ms, tz) / 10000) },
  { key: 'keepYearly', option: '--keep-yearly', reason: 'yearly snapshot', period: (ms, _i, tz) => Math.floor(ymdh(ms, tz) / 1000000) },
];

/** Throws a UsageError naming the option when a rule is not a whole number ≥ -1 or the duration is bad. */
export function validatePolicy(p: RetentionPolicy): void {
  for (const rule of COUNT_RULES) {
    const v = p[rule.key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -1) {
      throw new UsageError(`${rule.option} must be a whole number: a count, 0 (rule off) or -1 (unlimited); got ${JSON.stringify(v)}`);
    }
  }
  if (p.keepWithin !== undefined) {
    try {
      parseDuration(p.keepWithin);
    } catch (err) {
      throw new UsageError(`--keep-within: ${(err as Error).message}`);
    }
  }
}

/** True when the policy sets no rule (applyPolicy then keeps everything). */
export function isEmptyPolicy(p: RetentionPolicy): boolean {
  const within = p.keepWithin === undefined ? null : parseDuration(p.keepWithin);
  return COUNT_RULES.every((r) => !p[r.key]) && (within === null || isZero(within));
}

/** Newest first; equal times by id, so the outcome does not depend on the input order. */
function newestFirst<T extends SnapshotTime>(a: { s: T; ms: number }, b: { s: T; ms: number }): number {
  return b.ms - a.ms || (a.s.id < b.s.id ? 1 : a.s.id > b.s.id ? -1 : 0);
}

/**
 * Splits snapshots into those the policy keeps (with why) and those it removes, both newest
 * first. `timeZone` (IANA name) decides where hours, days, weeks, months and years begin;
 * default: the process's local zone. `now` only serves keep-within, which ignores snapshots
 * dated in the future when it looks for the newest one.
 */
export function applyPolicy<T extends SnapshotTime>(snapshots: readonly T[], policy: RetentionPolicy, options: { timeZone?: string; now?: Date } = {}): PolicyOutcome<T> {
  validatePolicy(policy);
  const tz = options.timeZone;
  checkTimeZone(tz);
  const out: PolicyOutcome<T> = { keep: [], remove: [] };

  const timed: Array<{ s: T; ms: number }> = [];
  const untimed: T[] = [];
  for (const s of snapshots) {
    const ms = Date.parse(s.time);
    if (Number.isNaN(ms)) untimed.push(s);
    else timed.push({ s, ms });
  }
  timed.sort(newestFirst);
  if (isEmptyPolicy(policy)) {
    for (const { s } of timed) out.keep.push({ ...s, reasons: ['no retention rule set'] });
  } else {
    applyRules(timed, policy, tz, options.now ?? new Date(), out);
  }
  // A time that cannot be read places a snapshot in no period: it is never removed for that.
  for (const s of untimed) out.keep.push({ ...s, reasons: ['unreadable time'] });
  return out;
}

/** The rules proper, over snapshots sorted newest first. */
function applyRules<T extends SnapshotTime>(timed: ReadonlyArray<{ s: T; ms: number }>, policy: RetentionPolicy, tz: string | undefined, now: Date, out: PolicyOutcome<T>): void {
  const counters = COUNT_RULES.map((rule) => ({ rule, left: policy[rule.key] ?? 0, last: null as number | null }));
  const parsed = policy.keepWithin === undefined ? null : parseDuration(policy.keepWithin);
  const within = parsed && !isZero(parsed) ? parsed : null;
  let withinAfter = -Infinity;
  if (within) {
    const past = timed.filter((t) => t.ms < now.getTime());
    // restic: with every snapshot in the future there is no newest, and all are "within".
    if (past.length) withinAfter = subtractCalendar(past[0].ms, within, tz);
  }

  timed.forEach(({ s, ms }, index) => {
    const reasons: string[] = [];
    if (within && ms > withinAfter) reasons.push(`within ${formatDuration(within)}`);
    const oldest = index === timed.length - 1;
    for (const c of counters) {
      if (c.left === 0) continue;
      const period = c.rule.period(ms, index, tz);
      if (period === c.last && !oldest) continue;
      reasons.push(period === c.last ? `oldest ${c.rule.reason}` : c.rule.reason);
      c.last = period;
      if (c.left > 0) c.left--;
    }
    if (reasons.length) out.keep.push({ ...s, reasons });
    else out.remove.push(s);
  });
}
