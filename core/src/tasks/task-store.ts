/**
 * The task store: a lowdb JSON file in the state folder. Changes are read-modify-write under
 * a lock file, so two haven processes never lose each other's edits; lowdb writes through a
 * temp file and rename, so a crash never leaves half a store. A store we cannot parse is
 * reported and left untouched.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { HavenPaths as HavenPathsId } from '../di/service-identifiers.js';
import type { HavenPaths } from '../config/haven-paths.js';
import { withLock } from '../util/file-lock.js';
import { HavenError } from '../errors.js';
import type { Task } from './task.js';

interface TaskStoreData {
  version: 1;
  tasks: Task[];
}

export interface TaskStore {
  all(): Promise<Task[]>;
  /** Runs `change` on the current tasks under the store lock and saves what it returns. */
  modify<T>(change: (tasks: Task[]) => T | Promise<T>): Promise<T>;
}

@injectable()
export class TaskStoreImpl implements TaskStore {
  private readonly file: string;

  constructor(@inject(HavenPathsId) paths: HavenPaths) {
    this.file = path.join(paths.home, 'tasks.json');
  }

  private async open(): Promise<Low<TaskStoreData>> {
    const db = new Low<TaskStoreData>(new JSONFile<TaskStoreData>(this.file), { version: 1, tasks: [] });
    try {
      await db.read();
    } catch (err) {
      throw new HavenError(`the task store ${this.file} is damaged (${(err as Error).message}); it was left untouched`);
    }
    if (!db.data || !Array.isArray(db.data.tasks)) {
      throw new HavenError(`the task store ${this.file} is not a Haven task store; it was left untouched`);
    }
    return db;
  }

  async all(): Promise<Task[]> {
    return (await this.open()).data.tasks;
  }

  async modify<T>(change: (tasks: Task[]) => T | Promise<T>): Promise<T> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    return withLock(`${this.file}.lock`, 'task store update', async () => {
      const db = await this.open();
      const result = await change(db.data.tasks);
      await db.write();
      return result;
    });
  }
}
