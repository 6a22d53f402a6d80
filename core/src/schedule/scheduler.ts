/**
 * Starts tasks by themselves (inside `haven service` and `haven service --user`).
 *
 * For each task with a timed schedule it keeps one timer, at the next due time computed by
 * occurrences.ts, fired through a SchedulerClock (node-schedule in the service; a fake clock in
 * tests, so no test waits for the wall clock). When a timer fires the due time is written down
 * first, then the run starts (trigger `schedule`): a crash during the run never makes it run
 * twice. On start, a task whose due time passed while the service was stopped runs once, soon
 * (trigger `catch-up`), however many due times it missed. A task first seen, or whose schedule
 * changed, starts from now: nothing is caught up for a schedule that did not exist.
 *
 * Runs never overlap: the run service refuses a second run of a running task (recorded
 * skipped). A failed scheduled run is tried again after growing delays, a bounded number of
 * times.
 */
import schedule from 'node-schedule';
import type { RunRecord, RunRequestFilter, RunTrigger } from '@haven/plugin-api';
import { parseDestination, type Task } from '../tasks/task.js';
import { parseSchedule } from './schedule-spec.js';
import { isTimed, lastDue, localTimeZone, nextDue } from './occurrences.js';
import type { ScheduleState } from './schedule-state.js';

export interface Timer {
  cancel(): void;
}

/** Time, and timers: node-schedule in the service, a fake in tests. */
export interface SchedulerClock {
  now(): Date;
  /** Calls `fn` at `when` (at once when it has passed); a promise it returns is the fire's work. */
  at(when: Date, fn: () => void | Promise<void>): Timer;
}

/** node-schedule's date jobs: one timer per task however far ahead (it handles long delays). */
export const systemClock: SchedulerClock = {
  now: () => new Date(),
  at(when, fn) {
    if (when.getTime() <= Date.now()) {
      const immediate = setImmediate(() => void fn());
      return { cancel: () => clearImmediate(immediate) };
    }
    const job = schedule.scheduleJob(when, () => void fn());
    return { cancel: () => void job?.cancel() };
  },
};

export interface SchedulerOptions {
  /** Every task the scheduler serves (read afresh on each refresh). */
  tasks(): Promise<Task[]>;
  /** Runs a task (the run service, for the service's own caller); resolves with its record. */
  run(task: Task, trigger: RunTrigger): Promise<RunRecord>;
  state: ScheduleState;
  clock?: SchedulerClock;
  timeZone?: string;
  /** How long after the start missed runs are caught up (default 30 s: let the system settle). */
  catchUpDelayMs?: number;
  /** Delays before the retries of a failed scheduled run (default 1, 5 and 15 minutes). */
  retryDelaysMs?: number[];
  log?(line: string): void;
}

interface Planned {
  task: Task;
  timer?: Timer;
  next: Date | null;
}

export class Scheduler {
  private readonly clock: SchedulerClock;
  private readonly timeZone: string;
  private readonly planned = new Map<string, Planned>();
  /** Catch-up and retry timers (one-off, unlike the per-task due timers). */
  private readonly oneOffs = new Set<Timer>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.timeZone = options.timeZone ?? localTimeZone();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Plans every task; catches up, once each, the tasks whose due time passed while stopped. */
  async start(): Promise<void> {
    await this.refresh({ catchUp: true });
  }

  /** Refreshes run one after another: two at once could plan one task twice. */
  private refreshing: Promise<void> = Promise.resolve();

  /** Plans again from the task store: after a task was created, edited or deleted. */
  refresh(options: { catchUp?: boolean } = {}): Promise<void> {
    const next = this.refreshing.then(() => this.replan(options));
    this.refreshing = next.catch(() => undefined);
    return next;
  }

  private async replan(options: { catchUp?: boolean }): Promise<void> {
    if (this.stopped) return;
    const tasks = await this.options.tasks();
    const ids = new Set(tasks.map((t) => t.id));
    for (const [id, p] of this.planned) {
      if (!ids.has(id)) {
        p.timer?.cancel();
        this.planned.delete(id);
      }
    }
    await this.options.state.keepOnly(ids);
    for (const task of tasks) await this.plan(task, options.catchUp === true);
  }

  /** The next due time of each planned task (by id). */
  nextRuns(): Map<string, Date | null> {
    return new Map([...this.planned].map(([id, p]) => [id, p.next]));
  }

  /** Cancels every timer; runs already started go on (the service decides how they end). */
  stop(): void {
    this.stopped = true;
    for (const p of this.planned.values()) p.timer?.cancel();
    for (const t of this.oneOffs) t.cancel();
    this.planned.clear();
    this.oneOffs.clear();
  }

  /** Resolves once every run the scheduler started has ended. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  private async plan(task: Task, catchUp: boolean): Promise<void> {
    const current = this.planned.get(task.id);
    if (current && current.task.schedule === task.schedule) {
      current.task = task; // other settings changed: the timer stands
      return;
    }
    current?.timer?.cancel();
    let spec;
    try {
      spec = parseSchedule(task.schedule);
    } catch (err) {
      this.log(`task "${task.name}": ${(err as Error).message}; not scheduled`);
      this.planned.delete(task.id);
      return;
    }
    if (!isTimed(spec)) {
      this.planned.delete(task.id);
      return;
    }
    const now = this.clock.now();
    const state = await this.options.state.get(task.id);
    let from = now;
    if (!state || state.schedule !== task.schedule) {
      // A schedule seen for the first time counts from now.
      await this.options.state.set(task.id, { lastDue: now.toISOString(), schedule: task.schedule });
    } else if (catchUp) {
      const missed = lastDue(spec, now, this.timeZone);
      if (missed && missed.getTime() > Date.parse(state.lastDue)) {
        // However many due times passed, one run catches up.
        await this.options.state.set(task.id, { lastDue: missed.toISOString(), schedule: task.schedule });
        const delay = this.options.catchUpDelayMs ?? 30_000;
        this.log(`task "${task.name}": missed its run due ${missed.toISOString()}; catching up`);
        const timer = this.clock.at(new Date(now.getTime() + delay), () => {
          this.oneOffs.delete(timer);
          const current = this.planned.get(task.id)?.task;
          if (current) this.launch(current, 'catch-up', 0);
        });
        this.oneOffs.add(timer);
      }
    } else {
      from = new Date(Math.max(now.getTime(), Date.parse(state.lastDue)));
    }
    const next = nextDue(spec, from, this.timeZone);
    const planned: Planned = { task, next };
    if (next) {
      planned.timer = this.clock.at(next, () => this.fire(task.id, next));
    }
    this.planned.set(task.id, planned);
  }

  private async fire(taskId: string, due: Date): Promise<void> {
    const planned = this.planned.get(taskId);
    if (!planned || this.stopped) return;
    const { task } = planned;
    // Written down before the run starts: a crash during the run does not make it run again.
    await this.options.state.set(task.id, { lastDue: due.toISOString(), schedule: task.schedule }).catch((err: Error) => this.log(`cannot record the due time of task "${task.name}": ${err.message}`));
    const spec = parseSchedule(task.schedule);
    const next = nextDue(spec, new Date(Math.max(due.getTime(), this.clock.now().getTime())), this.timeZone);
    planned.next = next;
    planned.timer = next ? this.clock.at(next, () => this.fire(taskId, next)) : undefined;
    this.launch(task, 'schedule', 0);
  }

  /**
   * A plugin's request (PluginContext.runs): starts every `on-connect` task matching the filter.
   * Resolves with how many were started.
   */
  async requestRuns(filter: RunRequestFilter): Promise<number> {
    if (this.stopped) return 0;
    const tasks = (await this.options.tasks()).filter((t) => {
      let kind: string;
      try {
        kind = parseSchedule(t.schedule).kind;
      } catch {
        return false;
      }
      const { type, location } = parseDestination(t.destination);
      return kind === filter.trigger && (filter.destinationType === undefined || filter.destinationType === type) && (filter.destinationLocation === undefined || location === filter.destinationLocation || location.startsWith(`${filter.destinationLocation}/`));
    });
    this.log(`${filter.reason}: starting ${tasks.length} task(s)${tasks.length ? `: ${tasks.map((t) => t.name).join(', ')}` : ''}`);
    for (const task of tasks) this.launch(task, filter.trigger, 0);
    return tasks.length;
  }

  /** Starts a run; a failed one is tried again after the next retry delay. */
  private launch(task: Task, trigger: RunTrigger, attempt: number): void {
    if (this.stopped) return;
    const run = this.options.run(task, trigger).then(
      (record) => {
        if (record.status !== 'failed' || this.stopped) return;
        const delays = this.options.retryDelaysMs ?? [60_000, 5 * 60_000, 15 * 60_000];
        if (attempt >= delays.length) {
          this.log(`task "${task.name}": run failed (${record.reason ?? 'no reason'}); no retries left`);
          return;
        }
        this.log(`task "${task.name}": run failed (${record.reason ?? 'no reason'}); trying again in ${Math.round(delays[attempt] / 1000)} s`);
        const timer = this.clock.at(new Date(this.clock.now().getTime() + delays[attempt]), () => {
          this.oneOffs.delete(timer);
          this.launch(task, trigger, attempt + 1);
        });
        this.oneOffs.add(timer);
      },
      (err: Error) => this.log(`task "${task.name}": could not run: ${err.message}`),
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }
}
