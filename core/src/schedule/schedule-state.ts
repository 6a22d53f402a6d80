/**
 * What the scheduler must remember across restarts: per task, the last due time it acted on
 * (and for which schedule text). A due time that passed while the service was stopped is found
 * from it and caught up once, like systemd's `Persistent=true`.
 */
import * as path from 'node:path';
import { readJsonFile, writeJsonFileAtomic } from '../util/json-file.js';
import { HavenError } from '../errors.js';

export interface TaskScheduleState {
  /** ISO time of the last due time acted on (or of when the schedule was first seen). */
  lastDue: string;
  /** The schedule that due time belongs to: a changed schedule starts afresh. */
  schedule: string;
}

interface StateFile {
  version: 1;
  tasks: Record<string, TaskScheduleState>;
}

export class ScheduleState {
  private readonly file: string;
  private data?: StateFile;

  constructor(home: string) {
    this.file = path.join(home, 'schedule-state.json');
  }

  private async load(): Promise<StateFile> {
    if (!this.data) {
      const read = await readJsonFile<StateFile>(this.file);
      if (read && (read.version !== 1 || typeof read.tasks !== 'object' || read.tasks === null)) {
        throw new HavenError(`${this.file} is not a Haven schedule state; it was left untouched`);
      }
      this.data = read ?? { version: 1, tasks: {} };
    }
    return this.data;
  }

  async get(taskId: string): Promise<TaskScheduleState | undefined> {
    return (await this.load()).tasks[taskId];
  }

  async set(taskId: string, state: TaskScheduleState): Promise<void> {
    const data = await this.load();
    data.tasks[taskId] = state;
    await writeJsonFileAtomic(this.file, data);
  }

  /** Forgets tasks that no longer exist. */
  async keepOnly(taskIds: ReadonlySet<string>): Promise<void> {
    const data = await this.load();
    const gone = Object.keys(data.tasks).filter((id) => !taskIds.has(id));
    if (!gone.length) return;
    for (const id of gone) delete data.tasks[id];
    await writeJsonFileAtomic(this.file, data);
  }
}
