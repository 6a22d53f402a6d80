/**
 * Run records, one JSON file per run under `history/` in the state folder: a run appends
 * without rewriting anyone else's record, so concurrent runs of different tasks never race.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import { HavenPaths as HavenPathsId } from '../di/service-identifiers.js';
import type { HavenPaths } from '../config/haven-paths.js';
import type { RunRecord } from '../api/index.js';
import { readJsonFile, writeJsonFileAtomic } from '../util/json-file.js';
import { warn } from '../util/logger.js';

export interface RunHistory {
  record(run: RunRecord): Promise<void>;
  /** Completed runs, newest first, optionally of one task (by id). */
  list(filter?: { taskIds?: string[]; limit?: number }): Promise<RunRecord[]>;
}

@injectable()
export class RunHistoryImpl implements RunHistory {
  private readonly dir: string;

  constructor(@inject(HavenPathsId) paths: HavenPaths) {
    this.dir = path.join(paths.home, 'history');
  }

  async record(run: RunRecord): Promise<void> {
    // Names sort by start time, so listing needs no parsing to order.
    const name = `${run.startedAt.replace(/[:.]/g, '-')}_${run.id}.json`;
    await writeJsonFileAtomic(path.join(this.dir, name), run);
  }

  async list(filter: { taskIds?: string[]; limit?: number } = {}): Promise<RunRecord[]> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => n.endsWith('.json')).sort().reverse();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const wanted = filter.taskIds ? new Set(filter.taskIds) : undefined;
    const out: RunRecord[] = [];
    for (const name of names) {
      let run: RunRecord | undefined;
      try {
        run = await readJsonFile<RunRecord>(path.join(this.dir, name));
      } catch (err) {
        warn(`skipping damaged run record ${name}: ${(err as Error).message}`);
        continue;
      }
      if (!run || (wanted && !wanted.has(run.taskId))) continue;
      out.push(run);
      if (filter.limit && out.length >= filter.limit) break;
    }
    return out;
  }
}
