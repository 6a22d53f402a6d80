/**
 * The task store: a lowdb JSON file in the state folder. Changes are read-modify-write under
 * a lock file, so two haven processes never lose each other's edits. lowdb reads and writes
 * through our own adapter (see below), so a crash never leaves half a store and the store is
 * private to its user (0600). A store we cannot parse is reported and left untouched.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import { Low, type Adapter } from 'lowdb';
import { HavenPaths as HavenPathsId } from '../di/service-identifiers.js';
import type { HavenPaths } from '../config/haven-paths.js';
import { withLock } from '../util/file-lock.js';
import { writeJsonFileAtomic } from '../util/json-file.js';
import { ensureStateDir } from '../util/state-dir.js';
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

/**
 * lowdb's own JSONFile adapter writes through one fixed temp name (`.tasks.json.tmp`), which
 * two processes can rename away from each other, and with the umask's mode. This one writes
 * through a unique temp name, fsync and rename, with mode 0600.
 */
class AtomicJsonAdapter<T> implements Adapter<T> {
  constructor(private readonly file: string) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return JSON.parse(text) as T; // a parse error is reported by open() as a damaged store
  }

  write(data: T): Promise<void> {
    return writeJsonFileAtomic(this.file, data);
  }
}

@injectable()
export class TaskStoreImpl implements TaskStore {
  private readonly file: string;

  constructor(@inject(HavenPathsId) paths: HavenPaths) {
    this.file = path.join(paths.home, 'tasks.json');
  }

  private async open(): Promise<Low<TaskStoreData>> {
    const db = new Low<TaskStoreData>(new AtomicJsonAdapter<TaskStoreData>(this.file), { version: 1, tasks: [] });
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
    await ensureStateDir(path.dirname(this.file));
    return withLock(`${this.file}.lock`, 'task store update', async () => {
      const db = await this.open();
      const result = await change(db.data.tasks);
      await db.write();
      return result;
    });
  }
}
