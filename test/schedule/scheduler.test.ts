/**
 * The scheduler on a fake clock: due times, catch-up after downtime, daylight saving time,
 * retries, and re-planning when tasks change. No test waits for the wall clock.
 */
import { expect } from 'chai';
import type { RunRecord, RunTrigger } from '@haven/plugin-api';
import { Scheduler, type SchedulerClock, type Timer } from '#core/schedule/scheduler.js';
import { ScheduleState } from '#core/schedule/schedule-state.js';
import type { Task } from '#core/tasks/task.js';
import { tempDir } from '../helpers/haven-cli.js';

class FakeClock implements SchedulerClock {
  private timers: Array<{ when: number; fn: () => void | Promise<void>; cancelled: boolean }> = [];
  constructor(private current: number) {}
  now(): Date {
    return new Date(this.current);
  }
  at(when: Date, fn: () => void | Promise<void>): Timer {
    const timer = { when: when.getTime(), fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }
  pending(): Date[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => new Date(t.when)).sort((a, b) => a.getTime() - b.getTime());
  }
  /** Moves time to `to`, firing every timer due on the way, in order, each to its end. */
  async advance(to: Date | string, scheduler: Scheduler): Promise<void> {
    const target = new Date(to).getTime();
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.when <= target).sort((a, b) => a.when - b.when)[0];
      if (!due) break;
      due.cancelled = true;
      this.current = Math.max(this.current, due.when);
      await due.fn();
      await scheduler.idle();
    }
    this.current = target;
  }
}

function task(id: string, schedule: string): Task {
  return {
    id, name: id, owner: { uid: 1000, name: 'ann' }, sources: ['/x'], excludes: [], destination: 'local:/b', schedule,
    retention: {}, encryption: 'none', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

interface Harness {
  clock: FakeClock;
  scheduler: Scheduler;
  runs: Array<{ task: string; trigger: RunTrigger; at: string }>;
  tasks: Task[];
  state: ScheduleState;
  home: string;
}

function harness(start: string, tasks: Task[], options: { home?: string; outcome?: () => RunRecord['status']; timeZone?: string } = {}): Harness {
  const clock = new FakeClock(Date.parse(start));
  const home = options.home ?? tempDir();
  const state = new ScheduleState(home);
  const runs: Harness['runs'] = [];
  const h: Harness = { clock, runs, tasks, state, home, scheduler: undefined as unknown as Scheduler };
  h.scheduler = new Scheduler({
    tasks: async () => h.tasks,
    run: async (t, trigger) => {
      runs.push({ task: t.name, trigger, at: clock.now().toISOString() });
      return { status: options.outcome?.() ?? 'success' } as RunRecord;
    },
    state,
    clock,
    timeZone: options.timeZone ?? 'UTC',
    catchUpDelayMs: 30_000,
  });
  return h;
}

describe('scheduler (fake clock)', () => {
  it('runs a task at each due time: every 15 minutes from the epoch, whenever the service started', async () => {
    const h = harness('2026-05-04T10:07:00Z', [task('docs', 'every 15 minutes')]);
    await h.scheduler.start();
    expect(h.scheduler.nextRuns().get('docs')?.toISOString()).to.equal('2026-05-04T10:15:00.000Z');
    await h.clock.advance('2026-05-04T11:00:00Z', h.scheduler);
    expect(h.runs.map((r) => r.at)).to.deep.equal(['10:15', '10:30', '10:45', '11:00'].map((t) => `2026-05-04T${t}:00.000Z`));
    expect(h.runs.every((r) => r.trigger === 'schedule')).to.equal(true);
  });

  it('catches up exactly once after a downtime that spanned several due times', async () => {
    const home = tempDir();
    const first = harness('2026-05-04T01:00:00Z', [task('docs', 'daily 02:30')], { home });
    await first.scheduler.start();
    await first.clock.advance('2026-05-04T03:00:00Z', first.scheduler);
    expect(first.runs).to.have.length(1);
    first.scheduler.stop();
    // Off for three days and a half: due on the 5th, 6th and 7th, started on the 7th at 10:00.
    const second = harness('2026-05-07T10:00:00Z', [task('docs', 'daily 02:30')], { home });
    await second.scheduler.start();
    await second.clock.advance('2026-05-07T10:05:00Z', second.scheduler);
    expect(second.runs).to.deep.equal([{ task: 'docs', trigger: 'catch-up', at: '2026-05-07T10:00:30.000Z' }]);
    expect((await new ScheduleState(home).get('docs'))?.lastDue).to.equal('2026-05-07T02:30:00.000Z');
    expect(second.scheduler.nextRuns().get('docs')?.toISOString()).to.equal('2026-05-08T02:30:00.000Z');
    // Started again at once: nothing more to catch up.
    second.scheduler.stop();
    const third = harness('2026-05-07T10:06:00Z', [task('docs', 'daily 02:30')], { home });
    await third.scheduler.start();
    await third.clock.advance('2026-05-07T12:00:00Z', third.scheduler);
    expect(third.runs).to.deep.equal([]);
  });

  it('catches nothing up for a task first seen, or whose schedule changed, while stopped', async () => {
    const home = tempDir();
    const first = harness('2026-05-04T01:00:00Z', [task('docs', 'daily 02:30')], { home });
    await first.scheduler.start();
    first.scheduler.stop();
    const later = harness('2026-05-09T10:00:00Z', [task('docs', 'daily 04:00'), task('new', 'hourly')], { home });
    await later.scheduler.start();
    await later.clock.advance('2026-05-09T10:30:00Z', later.scheduler);
    expect(later.runs).to.deep.equal([]);
    expect(later.scheduler.nextRuns().get('new')?.toISOString()).to.equal('2026-05-09T11:00:00.000Z');
  });

  it('runs "daily 02:30" once on the day 02:30 does not exist, and once on the day it exists twice (Europe/Berlin)', async () => {
    const spring = harness('2026-03-27T12:00:00Z', [task('docs', 'daily 02:30')], { timeZone: 'Europe/Berlin' });
    await spring.scheduler.start();
    await spring.clock.advance('2026-03-31T12:00:00Z', spring.scheduler);
    // 28th: CET (+1); 29th: clocks jump 02:00 → 03:00, so it runs at 03:30 CEST; then CEST (+2).
    expect(spring.runs.map((r) => r.at)).to.deep.equal(['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
    const autumn = harness('2026-10-23T12:00:00Z', [task('docs', 'daily 02:30')], { timeZone: 'Europe/Berlin' });
    await autumn.scheduler.start();
    await autumn.clock.advance('2026-10-27T12:00:00Z', autumn.scheduler);
    // 25th: 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET): one run.
    expect(autumn.runs.map((r) => r.at)).to.deep.equal(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
  });

  it('tries a failed scheduled run again after 1, 5 and 15 minutes, then waits for the next due time', async () => {
    const h = harness('2026-05-04T01:00:00Z', [task('docs', 'daily 02:00')], { outcome: () => 'failed' });
    await h.scheduler.start();
    await h.clock.advance('2026-05-04T04:00:00Z', h.scheduler);
    expect(h.runs.map((r) => r.at.slice(11, 16))).to.deep.equal(['02:00', '02:01', '02:06', '02:21']);
    const ok = harness('2026-05-04T01:00:00Z', [task('docs', 'daily 02:00')], { outcome: () => 'partial' });
    await ok.scheduler.start();
    await ok.clock.advance('2026-05-04T04:00:00Z', ok.scheduler);
    expect(ok.runs).to.have.length(1);
  });

  it('plans a task once however many refreshes run at once', async () => {
    const h = harness('2026-05-04T10:07:00Z', [task('docs', 'every 15 minutes')]);
    await Promise.all([h.scheduler.start(), h.scheduler.refresh(), h.scheduler.refresh(), h.scheduler.refresh()]);
    expect(h.clock.pending().map((d) => d.toISOString())).to.deep.equal(['2026-05-04T10:15:00.000Z']);
    await h.clock.advance('2026-05-04T10:16:00Z', h.scheduler);
    expect(h.runs).to.have.length(1);
  });

  it('starts the on-connect tasks a plugin asks for, matched by destination, and no others', async () => {
    const usb = { ...task('usb', 'on-connect'), destination: 'removable:BACKUP-1' };
    const other = { ...task('other', 'on-connect'), destination: 'removable:OTHER/haven' };
    const h = harness('2026-05-04T10:00:00Z', [usb, other, { ...task('daily', 'daily 02:00'), destination: 'removable:BACKUP-1' }]);
    await h.scheduler.start();
    expect(await h.scheduler.requestRuns({ trigger: 'on-connect', destinationType: 'removable', destinationLocation: 'BACKUP-1', reason: 'drive BACKUP-1 connected' })).to.equal(1);
    await h.scheduler.idle();
    expect(h.runs).to.deep.equal([{ task: 'usb', trigger: 'on-connect', at: '2026-05-04T10:00:00.000Z' }]);
    expect(await h.scheduler.requestRuns({ trigger: 'on-connect', destinationType: 'removable', reason: 'any drive' })).to.equal(2);
    // A drive's name matches the folders on it, not another drive whose name starts the same.
    expect(await h.scheduler.requestRuns({ trigger: 'on-connect', destinationType: 'removable', destinationLocation: 'OTHER', reason: 'OTHER connected' })).to.equal(1);
    expect(await h.scheduler.requestRuns({ trigger: 'on-connect', destinationType: 'removable', destinationLocation: 'OTH', reason: 'OTH connected' })).to.equal(0);
  });

  it('plans again when tasks are created, edited or deleted, and never plans manual or on-connect tasks', async () => {
    const h = harness('2026-05-04T10:07:00Z', [task('docs', 'hourly'), task('hand', 'manual'), task('usb', 'on-connect')]);
    await h.scheduler.start();
    expect([...h.scheduler.nextRuns().keys()]).to.deep.equal(['docs']);
    h.tasks = [task('docs', 'every 5 minutes'), task('more', 'cron "0 12 * * *"')];
    await h.scheduler.refresh();
    expect(h.scheduler.nextRuns().get('docs')?.toISOString()).to.equal('2026-05-04T10:10:00.000Z');
    expect(h.scheduler.nextRuns().get('more')?.toISOString()).to.equal('2026-05-04T12:00:00.000Z');
    h.tasks = [task('more', 'cron "0 12 * * *"')];
    await h.scheduler.refresh();
    await h.clock.advance('2026-05-04T12:00:00Z', h.scheduler);
    expect(h.runs.map((r) => `${r.task}@${r.at.slice(11, 16)}`)).to.deep.equal(['more@12:00']);
    expect(h.clock.pending().map((d) => d.toISOString())).to.deep.equal(['2026-05-05T12:00:00.000Z']);
  });
});
