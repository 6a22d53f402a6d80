/**
 * `haven service [--user] [--grace SECONDS]`: the system service (root; every user's requests,
 * per-user workers, the scheduler of every task) or a personal one for the user who starts it
 * (their requests and their tasks' schedules). Runs until SIGTERM or SIGINT; then lets running
 * work finish within the grace period, cancels what is left (recorded as failed, "service
 * stopped") and ends.
 */
import type { Command } from 'commander';
import { createHavenContainer } from '../../di/container.js';
import { resolveServices } from '../../di/services.js';
import { STOPPED, startHavenService } from '../../service/haven-service.js';
import { serviceSocketPath, userSocketPath } from '../../service/socket-path.js';
import { Scheduler } from '../../schedule/scheduler.js';
import { ScheduleState } from '../../schedule/schedule-state.js';
import { InterruptedError, UsageError } from '../../errors.js';
import { callerOf, type Caller } from '../../auth/caller.js';
import { identityOfUid } from '../../auth/identity.js';
import type { Task } from '../../tasks/task.js';
import type { CommandAction } from '../command-action.js';

function logLine(line: string): void {
  process.stderr.write(`${new Date().toISOString()} haven service: ${line}\n`);
}

/** Requests after which the scheduler plans again. */
const TASK_CHANGES = new Set(['task.create', 'task.edit', 'task.delete', 'task.import']);

/** The scheduler also re-reads the tasks this often (a change made around the service). */
const REFRESH_EVERY_MS = 60_000;

function seconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--grace expects whole seconds, not "${value}"`);
  return Number(value);
}

export function registerServiceCommand(program: Command, action: CommandAction): void {
  program.command('service').description('serve Haven and run scheduled tasks for every user of this computer (system mode, as root), or with --user for yourself')
    .option('--user', 'a personal service for the user who starts it (e.g. from a systemd user unit)')
    .option('--grace <seconds>', 'on SIGTERM, how long running backups may take to finish before they are cancelled', seconds, 90)
    .action(action(async (o: { user?: boolean; grace: number }) => {
      const uid = process.getuid?.() ?? 0;
      if (!o.user && uid !== 0) throw new UsageError('"haven service" serves every user and must run as root; for a personal service, run "haven service --user"');
      // The service never talks to itself: its socket is where it listens.
      const socketPath = o.user ? userSocketPath(process.env, uid) : serviceSocketPath(process.env);
      const container = await createHavenContainer(process.env, { workers: !o.user });
      const services = resolveServices(container, {});
      // Scheduled runs are started by the service itself: as root they run as each task's owner
      // (who must keep the password in the task's password file); a personal service's runs
      // have its user's environment (HAVEN_PASSWORD too).
      const self = callerOf(services.identity, o.user ? process.env : {});
      // A scheduled run is started on behalf of its task's owner (recorded as started by them);
      // a legacy task's, or one whose owner the system no longer knows, by the service.
      const scheduledCaller = async (task: Task): Promise<Caller> => {
        if (o.user || !task.owner) return self;
        try {
          return callerOf(identityOfUid(task.owner.uid, (await services.settings.read()).adminGroups), {});
        } catch {
          return self;
        }
      };
      const stopping = new AbortController();
      const scheduler = new Scheduler({
        tasks: () => services.tasks.list(self),
        run: async (task, trigger) => (await services.runs.run(await scheduledCaller(task), task, { trigger, signal: stopping.signal })).record,
        state: new ScheduleState(services.paths.home),
        log: logLine,
      });
      const refresh = () => void scheduler.refresh().catch((err: Error) => logLine(`scheduler: ${err.message}`));
      const service = await startHavenService(services, {
        socketPath,
        onlyUid: o.user ? uid : undefined,
        log: logLine,
        nextRuns: () => scheduler.nextRuns(),
        afterRequest: (method) => {
          if (TASK_CHANGES.has(method)) refresh();
        },
      });
      // Plugins that start runs themselves (a drive connected) reach the scheduler; those that
      // must see everything from the start are activated now, not at the first request.
      services.plugins.setRunRequester((filter) => scheduler.requestRuns(filter));
      await services.plugins.activateOnStartup();
      await scheduler.start();
      const poll = setInterval(refresh, REFRESH_EVERY_MS);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM')).once('SIGINT', () => resolve('SIGINT'));
      });
      logLine(`${signal}: stopping (running work may take ${o.grace} s to finish)`);
      clearInterval(poll);
      scheduler.stop();
      const graceMs = o.grace * 1000;
      const scheduledEnded = scheduler.idle();
      const timer = setTimeout(() => stopping.abort(new InterruptedError(STOPPED)), graceMs);
      await Promise.all([service.close(graceMs), scheduledEnded]);
      clearTimeout(timer);
      await services.plugins.deactivateAll().catch(() => undefined);
      logLine('stopped');
    }));
}
