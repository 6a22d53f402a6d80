import { expect } from 'chai';
import { parseSchedule } from '#core/schedule/schedule-spec.js';

describe('schedule specs', () => {
  const good: Array<[string, unknown]> = [
    ['manual', { kind: 'manual' }],
    ['hourly', { kind: 'hourly' }],
    ['daily 02:30', { kind: 'daily', hour: 2, minute: 30 }],
    ['weekly fri,mon 21:00', { kind: 'weekly', days: [1, 5], hour: 21, minute: 0 }],
    ['weekly Saturday,sun 09:05', { kind: 'weekly', days: [0, 6], hour: 9, minute: 5 }],
    ['monthly 1 03:15', { kind: 'monthly', day: 1, hour: 3, minute: 15 }],
    ['every 15 minutes', { kind: 'every', minutes: 15 }],
    ['every 2 hours', { kind: 'every', minutes: 120 }],
    ['cron "30 2 * * 1-5"', { kind: 'cron', expression: '30 2 * * 1-5' }],
    ['on-connect', { kind: 'on-connect' }],
  ];
  for (const [spec, parsed] of good) {
    it(`parses "${spec}"`, () => expect(parseSchedule(spec)).to.deep.equal(parsed));
  }
  for (const spec of ['weekly monkey 10:00', 'cron "99 99 * * *"', 'cron "* * 32 * *"', 'cron "0 2 30 2 *"', 'cron "* * * *"', 'daily', 'daily 24:00', 'weekly someday 10:00', 'monthly 32 10:00', 'every 0 minutes', 'every 5 fortnights', 'cron "* *"', 'hourly 5']) {
    it(`rejects "${spec}" with a message listing the forms`, () => {
      expect(() => parseSchedule(spec)).to.throw(/schedule "/);
    });
  }
});
