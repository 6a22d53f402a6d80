/**
 * Task use cases: create, list, show, edit, delete, export, import — with authorization and
 * with the destination checked by its storage provider (which activates that plugin only), where
 * the caller's work runs (repository-work.ts).
 *
 * Every method takes the caller: the service serves whoever asks (the CLI's own user in
 * personal mode; later, each client of the system service), and asks the authorization hook
 * once per operation, for that operation's right.
 */
import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'inversify';
import {
  Authorizer as AuthorizerId,
  WorkPlacement as WorkPlacementId,
  TaskStore as TaskStoreId,
} from '../di/service-identifiers.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { Identity } from '../auth/identity.js';
import type { WorkPlacement } from './repository-work.js';
import type { TaskStore } from './task-store.js';
import { parseDestination, type Task, type TaskCommands, type TaskSettings } from './task.js';
import {
  validateRetention,
  validateScheduleText,
  validateTaskName,
} from './task-validation.js';
import { UsageError } from '../errors.js';

/** Settings as typed by a user: paths may be relative, anything may be missing on edit. */
export interface TaskInput {
  sources?: string[];
  excludes?: string[];
  destination?: string;
  schedule?: string;
  retention?: Task['retention'];
  passwordFile?: string;
  noEncryption?: boolean;
  /** Each given command replaces the task's; an empty one removes it. */
  commands?: TaskCommands;
}

export interface TaskExport {
  format: 'haven-tasks';
  version: 1;
  tasks: Array<Pick<Task, 'name'> & TaskSettings>;
}

export interface TaskService {
  /** The tasks the caller may see. */
  list(caller: Identity): Promise<Task[]>;
  /**
   * The task of that name if the caller may see it (else "no task named", as if it did not
   * exist), without asking for any right: the operation that follows asks for its own.
   */
  find(caller: Identity, name: string): Promise<Task>;
  /** The task, for reading it (`task.read`). */
  get(caller: Identity, name: string): Promise<Task>;
  create(caller: Identity, name: string, input: TaskInput, cwd: string): Promise<Task>;
  edit(caller: Identity, name: string, input: TaskInput, cwd: string): Promise<Task>;
  delete(caller: Identity, name: string): Promise<Task>;
  exportTasks(caller: Identity, names: string[]): Promise<TaskExport>;
  /** `TYPE:LOCATION` as its provider normalises it (e.g. a relative folder made absolute). */
  normalizeDestination(caller: Identity, text: string): Promise<string>;
  importTasks(caller: Identity, data: unknown, cwd: string): Promise<Task[]>;
}

/** An import file's commands, checked: strings only. */
function validCommands(value: unknown): TaskCommands | undefined {
  if (value === undefined) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Object.entries(v).some(([k, c]) => !['before', 'after', 'notify'].includes(k) || typeof c !== 'string')) {
    throw new UsageError('"commands" must be an object of "before", "after" and "notify" command texts');
  }
  return v as TaskCommands;
}

/** `fresh` with the fields `input` gave, as validated: an edit changes only what was given. */
function changedSettings(fresh: Task, validated: TaskSettings, input: TaskInput): TaskSettings {
  const encryptionGiven = input.noEncryption || input.passwordFile !== undefined;
  const passwordFile = encryptionGiven ? validated.passwordFile : fresh.passwordFile;
  return {
    sources: input.sources ? validated.sources : fresh.sources,
    excludes: input.excludes ? validated.excludes : fresh.excludes,
    destination: input.destination ? validated.destination : fresh.destination,
    schedule: input.schedule !== undefined ? validated.schedule : fresh.schedule,
    retention: input.retention ? validateRetention({ ...fresh.retention, ...input.retention }) : fresh.retention,
    encryption: encryptionGiven ? validated.encryption : fresh.encryption,
    ...(passwordFile ? { passwordFile } : {}),
    ...withCommands(mergeCommands(fresh.commands, input.commands)),
  };
}

/** `base`'s commands with the given ones replacing theirs (an empty text removes one). */
function mergeCommands(base: TaskCommands | undefined, given: TaskCommands | undefined): TaskCommands {
  const merged: TaskCommands = { ...base };
  for (const key of ['before', 'after', 'notify'] as const) {
    const value = given?.[key];
    if (value === undefined) continue;
    if (value.trim() === '') delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

function withCommands(commands: TaskCommands): { commands?: TaskCommands } {
  return Object.keys(commands).length ? { commands } : {};
}

@injectable()
export class TaskServiceImpl implements TaskService {
  constructor(
    @inject(TaskStoreId) private readonly store: TaskStore,
    @inject(AuthorizerId) private readonly authorizer: Authorizer,
    @inject(WorkPlacementId) private readonly placement: WorkPlacement,
  ) {}

  async list(caller: Identity): Promise<Task[]> {
    return (await this.store.all()).filter((t) => this.authorizer.canSee(caller, t));
  }

  async find(caller: Identity, name: string): Promise<Task> {
    const task = (await this.store.all()).find((t) => t.name === name);
    if (!task || !this.authorizer.canSee(caller, task)) throw new UsageError(`no task named "${name}" (see "haven task list")`);
    return task;
  }

  async get(caller: Identity, name: string): Promise<Task> {
    const task = await this.find(caller, name);
    await this.authorizer.require(caller, 'task.read', task);
    return task;
  }

  async normalizeDestination(caller: Identity, text: string): Promise<string> {
    const me = { uid: caller.uid, name: caller.name };
    const checked = await this.placement.perform({ runAs: me, callerUid: caller.uid, env: {}, work: { op: 'taskPaths', cwd: '/', destination: text } }, {});
    return checked.destination!;
  }


  private async settings(caller: Identity, input: TaskInput, base: TaskSettings | undefined, cwd: string): Promise<TaskSettings> {
    if (input.sources?.length === 0 || (!input.sources && !base)) throw new UsageError('a task needs at least one --source');
    const destinationText = input.destination ?? base?.destination;
    if (!destinationText) throw new UsageError('a task needs a --dest');
    if (input.noEncryption && input.passwordFile) throw new UsageError('--password-file and --no-encryption exclude each other');
    // The paths the task names are checked with the caller's own rights (system mode: in a
    // worker as them), so the service never tells anyone what exists where only root can look.
    const checked = await this.placement.perform(
      {
        runAs: { uid: caller.uid, name: caller.name },
        callerUid: caller.uid,
        env: {},
        work: {
          op: 'taskPaths',
          cwd,
          sources: input.sources,
          knownSources: base?.sources,
          destination: input.destination || !base ? destinationText : undefined,
          passwordFile: input.noEncryption ? undefined : input.passwordFile,
        },
      },
      {},
    );
    const sources = checked.sources ?? base!.sources;
    const destination = checked.destination ?? base!.destination;
    let encryption = base?.encryption ?? 'password';
    let passwordFile = base?.passwordFile;
    if (input.noEncryption) {
      encryption = 'none';
      passwordFile = undefined;
    } else if (checked.passwordFile) {
      encryption = 'password';
      passwordFile = checked.passwordFile;
    }
    if (base && base.encryption !== encryption) {
      throw new UsageError('a task cannot switch between an encrypted and an unencrypted repository; create a new task');
    }
    return {
      sources,
      excludes: input.excludes ?? base?.excludes ?? [],
      destination,
      schedule: validateScheduleText(input.schedule ?? base?.schedule ?? 'manual'),
      retention: validateRetention({ ...base?.retention, ...input.retention }),
      encryption,
      ...(passwordFile ? { passwordFile } : {}),
      ...withCommands(mergeCommands(base?.commands, input.commands)),
    };
  }

  async create(caller: Identity, name: string, input: TaskInput, cwd: string): Promise<Task> {
    validateTaskName(name);
    await this.authorizer.require(caller, 'task.create');
    const settings = await this.settings(caller, input, undefined, cwd);
    const now = new Date().toISOString();
    const task: Task = { id: randomUUID(), name, owner: { uid: caller.uid, name: caller.name }, ...settings, createdAt: now, updatedAt: now };
    return this.store.modify((tasks) => {
      if (tasks.some((t) => t.name === name)) throw new UsageError(`a task named "${name}" already exists`);
      tasks.push(task);
      return task;
    });
  }

  async edit(caller: Identity, name: string, input: TaskInput, cwd: string): Promise<Task> {
    const current = await this.find(caller, name);
    await this.authorizer.require(caller, 'task.modify', current);
    // Validated here (the provider may be slow); applied below under the store's lock onto the
    // task as it is then, field by field, so two edits at once both keep what they changed.
    const validated = await this.settings(caller, input, current, cwd);
    return this.store.modify((tasks) => {
      const index = tasks.findIndex((t) => t.id === current.id);
      if (index < 0) throw new UsageError(`task "${name}" was deleted meanwhile`);
      const settings = changedSettings(tasks[index], validated, input);
      // A legacy task edited by a user becomes theirs: it runs with their rights from now on,
      // and no other user sees it any more (it may hold what only they can read).
      const now = new Date().toISOString();
      const adopted = tasks[index].owner === null ? { owner: { uid: caller.uid, name: caller.name }, ownerSince: now } : {};
      tasks[index] = { ...tasks[index], ...settings, ...adopted, updatedAt: now };
      return tasks[index];
    });
  }

  async delete(caller: Identity, name: string): Promise<Task> {
    const current = await this.find(caller, name);
    await this.authorizer.require(caller, 'task.delete', current);
    return this.store.modify((tasks) => {
      const index = tasks.findIndex((t) => t.id === current.id);
      if (index >= 0) tasks.splice(index, 1);
      return current;
    });
  }

  async exportTasks(caller: Identity, names: string[]): Promise<TaskExport> {
    const visible = await this.list(caller);
    const chosen = names.length ? names.map((n) => visible.find((t) => t.name === n) ?? (() => { throw new UsageError(`no task named "${n}"`); })()) : visible;
    return {
      format: 'haven-tasks',
      version: 1,
      tasks: chosen.map(({ name, sources, excludes, destination, schedule, retention, encryption, passwordFile, commands }) => ({
        name, sources, excludes, destination, schedule, retention, encryption, ...(passwordFile ? { passwordFile } : {}), ...(commands ? { commands } : {}),
      })),
    };
  }

  async importTasks(caller: Identity, data: unknown, cwd: string): Promise<Task[]> {
    await this.authorizer.require(caller, 'task.create');
    const doc = data as Partial<TaskExport>;
    if (!doc || doc.format !== 'haven-tasks' || doc.version !== 1 || !Array.isArray(doc.tasks)) {
      throw new UsageError('not a Haven task export (expected {"format":"haven-tasks","version":1,"tasks":[…]})');
    }
    // Validate everything first: an import adds all tasks or none.
    const existing = new Set((await this.store.all()).map((t) => t.name));
    const prepared: Task[] = [];
    for (const [i, t] of doc.tasks.entries()) {
      const where = `tasks[${i}]${t?.name ? ` ("${t.name}")` : ''}`;
      try {
        validateTaskName(String(t.name));
        if (existing.has(t.name) || prepared.some((p) => p.name === t.name)) throw new UsageError(`a task named "${t.name}" already exists`);
        const settings = await this.settings(
          caller,
          { sources: t.sources, excludes: t.excludes, destination: t.destination, schedule: t.schedule, retention: t.retention, passwordFile: t.passwordFile, noEncryption: t.encryption === 'none', commands: validCommands(t.commands) },
          undefined,
          cwd,
        );
        const now = new Date().toISOString();
        prepared.push({ id: randomUUID(), name: t.name, owner: { uid: caller.uid, name: caller.name }, ...settings, createdAt: now, updatedAt: now });
      } catch (err) {
        throw new UsageError(`${where}: ${(err as Error).message}`);
      }
    }
    return this.store.modify((tasks) => {
      for (const t of prepared) if (tasks.some((x) => x.name === t.name)) throw new UsageError(`a task named "${t.name}" already exists`);
      tasks.push(...prepared);
      return prepared;
    });
  }
}
