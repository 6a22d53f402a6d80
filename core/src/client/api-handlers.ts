/**
 * The one place where a client's request becomes a service call, for a given caller: the
 * in-process client calls it with the process's user, the system service with the socket
 * peer's identity. Authorization happens inside the services, never here.
 */
import type { Caller } from '../auth/caller.js';
import type { Services } from '../cli/cli-context.js';
import type { CallOptions, HavenApi, Method, ParamsOf, ResultOf } from './haven-api.js';
import { parseDestination, type Task } from '../tasks/task.js';
import type { DeviceInfo } from '@haven/plugin-api';
import { parseSchedule } from '../schedule/schedule-spec.js';
import { nextDue } from '../schedule/occurrences.js';

/** What the service adds to a call: its scheduler's plan (personal mode has none). */
export interface HandlerContext extends CallOptions {
  nextRuns?: () => Map<string, Date | null>;
}

type Handlers = { [M in Method]: (s: Services, caller: Caller, params: HavenApi[M]['params'], options: HandlerContext) => Promise<HavenApi[M]['result']> };

/** When a task runs next: the scheduler's plan where one runs, else computed from its schedule. */
function nextRunOf(task: Task, o: HandlerContext): string | null {
  const next = o.nextRuns ? o.nextRuns().get(task.id) ?? null : nextDue(parseSchedule(task.schedule), new Date());
  return next ? next.toISOString() : null;
}

const handlers: Handlers = {
  'task.list': (s, caller) => s.tasks.list(caller),
  'task.get': (s, caller, p) => s.tasks.get(caller, p.name),
  'task.create': (s, caller, p) => s.tasks.create(caller, p.name, p.input, p.cwd),
  'task.edit': (s, caller, p) => s.tasks.edit(caller, p.name, p.input, p.cwd),
  'task.delete': async (s, caller, p, o) => {
    // The versions go first: a purge that fails leaves the task, to try again.
    const purged = p.purge ? await s.operations.purge(caller, p.name, o.signal) : undefined;
    return { ...(await s.tasks.delete(caller, p.name)), ...(purged ? { purged } : {}) };
  },
  forget: (s, caller, p, o) => s.operations.forget(caller, p.name, { policy: p.policy, dryRun: p.dryRun, prune: p.prune }, o.signal),
  'task.export': (s, caller, p) => s.tasks.exportTasks(caller, p.names),
  'task.import': (s, caller, p) => s.tasks.importTasks(caller, p.data, p.cwd),
  'task.normalizeDestination': (s, caller, p) => s.tasks.normalizeDestination(caller, p.text),
  run: async (s, caller, p, o) => {
    const task = await s.tasks.find(caller, p.name);
    const { record, error } = await s.runs.run(caller, task, { trigger: 'manual', onProgress: o.onProgress, signal: o.signal, ignoreFreeSpace: p.ignoreFreeSpace, newRepository: p.newRepository, wait: p.wait });
    return { record, ...(error ? { error: { message: error.message, exitCode: error.exitCode } } : {}) };
  },
  schedule: async (s, caller, _p, o) => {
    const tasks = await s.tasks.list(caller);
    const last = await s.history.list({ taskIds: tasks.map((t) => t.id) });
    return {
      schedulerRunning: o.nextRuns !== undefined,
      tasks: tasks.map((t) => {
        const run = last.find((r) => r.taskId === t.id);
        return { name: t.name, schedule: t.schedule, next: nextRunOf(t, o), lastRun: run ? { status: run.status, trigger: run.trigger, startedAt: run.startedAt } : null };
      }),
    };
  },
  drives: async (s, caller) => {
    const provider = await s.plugins.storageProvider('removable');
    const devices = (await provider.listDevices?.()) ?? [];
    const tasks = (await s.tasks.list(caller)).map((t) => ({ name: t.name, ...parseDestination(t.destination) })).filter((t) => t.type === 'removable');
    // A location names its drive first, by label (exact) or UUID (any case).
    const uses = (d: DeviceInfo, location: string) => {
      const drive = location.split('/')[0];
      return drive === d.label || (d.uuid !== undefined && drive.toLowerCase() === d.uuid.toLowerCase());
    };
    return devices.map((d) => ({ ...d, tasks: tasks.filter((t) => uses(d, t.location)).map((t) => t.name) }));
  },
  history: async (s, caller, p) => {
    const taskIds = p.name ? [(await s.tasks.get(caller, p.name)).id] : (await s.tasks.list(caller)).map((t) => t.id);
    return s.history.list({ taskIds, limit: p.limit });
  },
  snapshots: (s, caller, p, o) => s.operations.snapshots(caller, p.name, o.signal),
  ls: (s, caller, p, o) => s.operations.ls(caller, p.name, p.snapshot, p.dir, o.signal),
  restore: (s, caller, p, o) => s.operations.restore(caller, p.name, { ...p.options, onProgress: o.onProgress }, o.signal),
  check: (s, caller, p, o) => s.operations.check(caller, p.name, p.options, o.signal),
  unlock: (s, caller, p, o) => s.operations.unlock(caller, p.name, { all: p.all }, o.signal),
  'repair.config': (s, caller, p) => s.operations.repairConfig(caller, p.name),
  'repair.index': (s, caller, p, o) => s.operations.repairIndex(caller, p.name, o.signal),
  'repair.snapshots': (s, caller, p, o) => s.operations.repairSnapshots(caller, p.name, { dryRun: p.dryRun }, o.signal),
  'plugins.list': (s) => s.plugins.list(),
  'plugins.info': (s, _caller, p) => s.plugins.info(p.id),
  'plugins.setEnabled': (s, caller, p) => s.pluginAdmin.setEnabled(caller, p.id, p.enabled),
};

export function handle<M extends Method>(s: Services, caller: Caller, method: M, params: ParamsOf<M>, options: HandlerContext): Promise<ResultOf<M>> {
  return (handlers[method] as (s: Services, caller: Caller, params: ParamsOf<M>, options: HandlerContext) => Promise<ResultOf<M>>)(s, caller, params, options);
}
