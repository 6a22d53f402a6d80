/**
 * The retention policy as tables: snapshots in, kept (with reasons) and removed out, under
 * restic's rules (see core/src/retention/retention-policy.ts).
 */
import { expect } from 'chai';
import { UsageError } from '#core/errors.js';
import { isoWeek } from '#core/retention/calendar.js';
import { applyPolicy, parseDuration, validatePolicy, type RetentionPolicy } from '#core/retention/retention-policy.js';

/** Snapshots named by their times (the id is the time, so results read as tables). */
function snaps(...times: string[]): Array<{ id: string; time: string }> {
  // Shuffled: the outcome must not depend on the order given.
  return times.map((time) => ({ id: time, time })).sort(() => Math.random() - 0.5);
}

interface Outcome {
  keep: Record<string, string[]>;
  remove: string[];
}

function run(times: string[], policy: RetentionPolicy, timeZone = 'UTC', now?: string): Outcome {
  const r = applyPolicy(snaps(...times), policy, { timeZone, now: now ? new Date(now) : undefined });
  return { keep: Object.fromEntries(r.keep.map((k) => [k.id, k.reasons])), remove: r.remove.map((s) => s.id) };
}

function days(from: number, to: number, month = '01', hour = '12:00'): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d++) out.push(`2024-${month}-${String(d).padStart(2, '0')}T${hour}:00.000Z`);
  return out;
}

describe('retention policy', function () {
  it('daily 3 over 10 daily snapshots keeps the last 3', () => {
    const r = run(days(1, 10), { keepDaily: 3 });
    expect(r.keep).to.deep.equal({
      '2024-01-10T12:00:00.000Z': ['daily snapshot'],
      '2024-01-09T12:00:00.000Z': ['daily snapshot'],
      '2024-01-08T12:00:00.000Z': ['daily snapshot'],
    });
    expect(r.remove).to.deep.equal(days(1, 7).reverse());
  });

  it('keep-last 2 and daily 2 with two snapshots on one day: each rule counts on its own', () => {
    const r = run(['2024-01-03T18:00:00Z', '2024-01-03T09:00:00Z', '2024-01-02T12:00:00Z', '2024-01-01T12:00:00Z'], { keepLast: 2, keepDaily: 2 });
    expect(r.keep).to.deep.equal({
      '2024-01-03T18:00:00Z': ['last snapshot', 'daily snapshot'],
      '2024-01-03T09:00:00Z': ['last snapshot'],
      '2024-01-02T12:00:00Z': ['daily snapshot'],
    });
    expect(r.remove).to.deep.equal(['2024-01-01T12:00:00Z']);
  });

  it('weekly follows ISO weeks: a Sunday belongs to the week of the Monday before it', () => {
    // 2024-01-01 is a Monday: week 1 is 1–7 January, week 2 is 8–14, week 3 starts on the 15th.
    const times = ['2024-01-15T12:00:00Z', '2024-01-14T12:00:00Z', '2024-01-08T12:00:00Z', '2024-01-07T12:00:00Z'];
    const r = run(times, { keepWeekly: 3 });
    expect(r.keep).to.deep.equal({
      '2024-01-15T12:00:00Z': ['weekly snapshot'],
      '2024-01-14T12:00:00Z': ['weekly snapshot'],
      '2024-01-07T12:00:00Z': ['weekly snapshot'],
    });
    expect(r.remove).to.deep.equal(['2024-01-08T12:00:00Z']);
  });

  it('weekly across a year boundary: early January can be week 53, late December week 1', () => {
    expect(isoWeek(2021, 1, 1)).to.deep.equal({ year: 2020, week: 53 }); // a Friday
    expect(isoWeek(2021, 1, 4)).to.deep.equal({ year: 2021, week: 1 }); // a Monday
    expect(isoWeek(2019, 12, 30)).to.deep.equal({ year: 2020, week: 1 }); // a Monday
    expect(isoWeek(2019, 12, 29)).to.deep.equal({ year: 2019, week: 52 }); // a Sunday
    const r = run(['2021-01-04T12:00:00Z', '2021-01-01T12:00:00Z', '2020-12-31T12:00:00Z', '2020-12-28T12:00:00Z', '2020-12-27T12:00:00Z'], { keepWeekly: 3 });
    expect(Object.keys(r.keep)).to.deep.equal(['2021-01-04T12:00:00Z', '2021-01-01T12:00:00Z', '2020-12-27T12:00:00Z']);
    expect(r.remove).to.deep.equal(['2020-12-31T12:00:00Z', '2020-12-28T12:00:00Z']);
    // 30 December 2019 and 5 January 2020 are one week (2020-W01).
    const w = run(['2020-01-05T12:00:00Z', '2019-12-30T12:00:00Z', '2019-12-29T12:00:00Z', '2019-12-20T12:00:00Z'], { keepWeekly: 2 });
    expect(Object.keys(w.keep)).to.deep.equal(['2020-01-05T12:00:00Z', '2019-12-29T12:00:00Z']);
  });

  it('monthly -1 keeps the newest of every month, and the oldest snapshot too', () => {
    const times = ['2024-03-20T12:00:00Z', '2024-03-05T12:00:00Z', '2024-02-25T12:00:00Z', '2024-02-10T12:00:00Z', '2024-01-30T12:00:00Z', '2024-01-02T12:00:00Z'];
    const r = run(times, { keepMonthly: -1 });
    expect(r.keep).to.deep.equal({
      '2024-03-20T12:00:00Z': ['monthly snapshot'],
      '2024-02-25T12:00:00Z': ['monthly snapshot'],
      '2024-01-30T12:00:00Z': ['monthly snapshot'],
      '2024-01-02T12:00:00Z': ['oldest monthly snapshot'],
    });
    expect(r.remove).to.deep.equal(['2024-03-05T12:00:00Z', '2024-02-10T12:00:00Z']);
  });

  it('the oldest snapshot is kept by a rule with counts left (daily 5, only 3 days of snapshots), not by a spent one', () => {
    const times = ['2024-01-03T20:00:00Z', '2024-01-03T08:00:00Z', '2024-01-02T20:00:00Z', '2024-01-02T08:00:00Z', '2024-01-01T20:00:00Z', '2024-01-01T08:00:00Z'];
    const five = run(times, { keepDaily: 5 });
    expect(five.keep).to.deep.equal({
      '2024-01-03T20:00:00Z': ['daily snapshot'],
      '2024-01-02T20:00:00Z': ['daily snapshot'],
      '2024-01-01T20:00:00Z': ['daily snapshot'],
      '2024-01-01T08:00:00Z': ['oldest daily snapshot'],
    });
    expect(five.remove).to.deep.equal(['2024-01-03T08:00:00Z', '2024-01-02T08:00:00Z']);
    const three = run(times, { keepDaily: 3 });
    expect(Object.keys(three.keep)).to.deep.equal(['2024-01-03T20:00:00Z', '2024-01-02T20:00:00Z', '2024-01-01T20:00:00Z']);
    expect(three.remove).to.include('2024-01-01T08:00:00Z');
  });

  it('keep-within keeps what is strictly newer than the newest snapshot minus the duration', () => {
    const r = run(days(1, 10), { keepWithin: '3d' });
    expect(Object.keys(r.keep)).to.deep.equal(days(8, 10).reverse());
    expect(Object.values(r.keep)).to.deep.equal([['within 3d'], ['within 3d'], ['within 3d']]);
    expect(r.remove).to.deep.equal(days(1, 7).reverse()); // 7 January 12:00 is exactly 3 days before: not within

    // Hours are elapsed time; a snapshot dated in the future is not taken for the newest.
    const h = run(['2030-01-01T00:00:00Z', '2024-01-10T12:00:00Z', '2024-01-09T01:00:00Z', '2024-01-08T23:00:00Z'], { keepWithin: '36h' }, 'UTC', '2025-01-01T00:00:00Z');
    expect(Object.keys(h.keep)).to.deep.equal(['2030-01-01T00:00:00Z', '2024-01-10T12:00:00Z', '2024-01-09T01:00:00Z']);
    expect(h.remove).to.deep.equal(['2024-01-08T23:00:00Z']);

    // Months on the calendar: 31 March minus one month rolls over to 2 March (2024 is a leap year).
    const m = run(['2024-03-31T12:00:00Z', '2024-03-03T12:00:00Z', '2024-03-02T12:00:00Z', '2024-02-29T12:00:00Z'], { keepWithin: '1m' });
    expect(Object.keys(m.keep)).to.deep.equal(['2024-03-31T12:00:00Z', '2024-03-03T12:00:00Z']);
  });

  it('keep-within combines with count rules; reasons list every rule that kept a snapshot', () => {
    const r = run(days(1, 6), { keepWithin: '2d', keepLast: 1, keepDaily: 4 });
    expect(r.keep['2024-01-06T12:00:00.000Z']).to.deep.equal(['within 2d', 'last snapshot', 'daily snapshot']);
    expect(r.keep['2024-01-05T12:00:00.000Z']).to.deep.equal(['within 2d', 'daily snapshot']);
    expect(r.keep['2024-01-03T12:00:00.000Z']).to.deep.equal(['daily snapshot']);
    expect(r.remove).to.deep.equal(['2024-01-02T12:00:00.000Z', '2024-01-01T12:00:00.000Z']);
  });

  it('hourly and yearly', () => {
    const hours = ['2024-05-01T12:40:00Z', '2024-05-01T12:20:00Z', '2024-05-01T12:00:00Z', '2024-05-01T11:40:00Z', '2024-05-01T11:00:00Z', '2024-05-01T10:59:00Z'];
    const h = run(hours, { keepHourly: 2 });
    expect(Object.keys(h.keep)).to.deep.equal(['2024-05-01T12:40:00Z', '2024-05-01T11:40:00Z']);
    expect(h.keep['2024-05-01T12:40:00Z']).to.deep.equal(['hourly snapshot']);
    const years = ['2023-06-01T00:00:00Z', '2022-12-31T23:00:00Z', '2022-01-01T00:00:00Z', '2021-07-01T00:00:00Z'];
    const y = run(years, { keepYearly: 2 });
    expect(Object.keys(y.keep)).to.deep.equal(['2023-06-01T00:00:00Z', '2022-12-31T23:00:00Z']);
    expect(y.remove).to.deep.equal(['2022-01-01T00:00:00Z', '2021-07-01T00:00:00Z']);
    const all = run(years, { keepYearly: -1 });
    expect(all.keep['2021-07-01T00:00:00Z']).to.deep.equal(['yearly snapshot']);
  });

  it('days are those of the time zone: UTC and New York disagree on a snapshot at 03:30 UTC', () => {
    // 03:30 UTC on 10 March 2024 is 22:30 on 9 March in New York (EST, before the DST switch).
    const times = ['2024-03-10T12:00:00Z', '2024-03-10T03:30:00Z', '2024-03-09T12:00:00Z'];
    expect(run(times, { keepDaily: 2 }, 'UTC').remove).to.deep.equal(['2024-03-10T03:30:00Z']);
    expect(run(times, { keepDaily: 2 }, 'America/New_York').remove).to.deep.equal(['2024-03-09T12:00:00Z']);
    // Same thing for weeks: Monday 00:30 in Paris is still Sunday in UTC.
    const week = ['2024-01-08T12:00:00Z', '2024-01-07T23:30:00Z', '2024-01-06T12:00:00Z'];
    expect(run(week, { keepWeekly: 2 }, 'UTC').remove).to.deep.equal(['2024-01-06T12:00:00Z']);
    expect(run(week, { keepWeekly: 2 }, 'Europe/Paris').remove).to.deep.equal(['2024-01-07T23:30:00Z']);
    // Calendar days of keep-within too: the day before 14:00 EDT on 10 March is 14:00 EST, 25 hours back.
    const dst = ['2024-03-10T18:00:00Z', '2024-03-09T18:30:00Z'];
    expect(run(dst, { keepWithin: '1d' }, 'UTC').remove).to.deep.equal([]);
    expect(run(dst, { keepWithin: '1d' }, 'America/New_York').remove).to.deep.equal(['2024-03-09T18:30:00Z']);
    expect(() => applyPolicy([], { keepDaily: 1 }, { timeZone: 'Mars/Olympus' })).to.throw(UsageError, /time zone "Mars\/Olympus"/);
  });

  it('a policy with no rule keeps everything; -1 keeps every snapshot for keep-last', () => {
    const times = days(1, 4);
    for (const policy of [{}, { keepDaily: 0, keepLast: 0 }, { keepWithin: '0d' }] as RetentionPolicy[]) {
      const r = run(times, policy);
      expect(r.remove, JSON.stringify(policy)).to.deep.equal([]);
      expect(Object.keys(r.keep)).to.have.length(4);
    }
    expect(run(times, { keepLast: -1 }).remove).to.deep.equal([]);
    expect(applyPolicy([], { keepLast: 1 })).to.deep.equal({ keep: [], remove: [] });
  });

  it('parses durations and rejects bad ones with a clear message', () => {
    expect(parseDuration('1y2m3d4h')).to.deep.equal({ years: 1, months: 2, days: 3, hours: 4 });
    expect(parseDuration(' 4h1y ')).to.deep.equal({ years: 1, months: 0, days: 0, hours: 4 });
    expect(parseDuration('90d')).to.deep.equal({ years: 0, months: 0, days: 90, hours: 0 });
    const bad: Array<[string, RegExp]> = [
      ['', /empty/],
      ['3', /no unit after 3/],
      ['d', /"d" is not a number/],
      ['3x', /unknown unit "x"/],
      ['-3d', /negative/],
      ['1d2d', /"d" is given twice/],
      ['1.5d', /unit/],
      ['3 d', /no unit after 3/],
    ];
    for (const [text, why] of bad) {
      expect(() => parseDuration(text), text).to.throw(UsageError, why);
      expect(() => parseDuration(text), text).to.throw(/1y2m3d4h/);
    }
  });

  it('rejects bad counts and durations, naming the option', () => {
    const cases: Array<[RetentionPolicy, RegExp]> = [
      [{ keepDaily: 2.5 }, /--keep-daily must be a whole number/],
      [{ keepLast: -2 }, /--keep-last/],
      [{ keepHourly: Number.NaN }, /--keep-hourly/],
      [{ keepWeekly: '3' as unknown as number }, /--keep-weekly/],
      [{ keepMonthly: Infinity }, /--keep-monthly/],
      [{ keepYearly: -1.5 }, /--keep-yearly/],
      [{ keepWithin: '3w' }, /--keep-within: "3w" is not a duration: unknown unit "w"/],
    ];
    for (const [policy, why] of cases) {
      expect(() => validatePolicy(policy), JSON.stringify(policy)).to.throw(UsageError, why);
      expect(() => applyPolicy(snaps('2024-01-01T00:00:00Z'), policy), JSON.stringify(policy)).to.throw(UsageError, why);
    }
    expect(() => validatePolicy({ keepLast: -1, keepDaily: 0, keepWeekly: 7, keepWithin: '1y' })).to.not.throw();
  });
});
