/**
 * Run records, one JSON file per run under `history/` in the state folder: a run appends
 * without rewriting anyone else's record, so concurrent runs of different tasks never race.
 *
 * A run writes its record twice under the same file name: with status `running` (and its pid
 * and host) when it starts, and its final record when it ends. A process killed in between
 * leaves the `running` record; whoever reads the history next (or starts the same task) finds
 * its pid dead on this host and rewrites it as `interrupted`, so no run goes unrecorded.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inject, injectable } from 'inversify';
import { HavenPaths as HavenPathsId } from '../di/service-identifiers.js';
import type { HavenPaths } from '../config/haven-paths.js';
import type { RunRecord } from '@haven/plugin-api';
import { readJsonFile, writeJsonFileAtomic } from '../util/json-file.js';
import { isStampAlive, ownStamp } from '../util/process-identity.js';
import { warn } from '../util/logger.js';

export interface RunHistory {
  /** Records a run that has just started (status `running`); `record` replaces it. */
  start(run: RunRecord): Promise<void>;
  /** The final record of a run. */
  record(run: RunRecord): Promise<void>;
  /**
   * Runs newest first, optionally of some tasks (by id); runs whose process died are
   * reported (and rewritten) as `interrupted`.
   */
  list(filter?: { taskIds?: string[]; limit?: number }): Promise<RunRecord[]>;
}

@injectable()
export class RunHistoryImpl implements RunHistory {
  private readonly dir: string;

  constructor(@inject(HavenPathsId) paths: HavenPaths) {
    this.dir = path.join(paths.home, 'history');
  }

  private fileOf(run: RunRecord): string {
    // Names sort by start time, so listing needs no parsing to order.
    return path.join(this.dir, `${run.startedAt.replace(/[:.]/g, '-')}_${run.id}.json`);
  }

  async start(run: RunRecord): Promise<void> {
    const running: RunRecord = { ...run, status: 'running', finishedAt: '', ...ownStamp(), host: os.hostname() };
    await writeJsonFileAtomic(this.fileOf(run), running);
  }

  async record(run: RunRecord): Promise<void> {
    await writeJsonFileAtomic(this.fileOf(run), run);
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
      const file = path.join(this.dir, name);
      let run: RunRecord | undefined;
      try {
        run = await readJsonFile<RunRecord>(file);
      } catch (err) {
        warn(`skipping damaged run record ${name}: ${(err as Error).message}`);
        continue;
      }
      if (!run || (wanted && !wanted.has(run.taskId))) continue;
      if (run.status === 'running') run = await this.settle(file, run);
      out.push(run);
      if (filter.limit && out.length >= filter.limit) break;
    }
    return out;
  }

  /** A `running` record whose process is dead on this host becomes `interrupted`. */
  private async settle(file: string, run: RunRecord): Promise<RunRecord> {
    if (run.host !== os.hostname() || run.pid === undefined || isStampAlive({ pid: run.pid, boot: run.boot, started: run.started })) return run;
    // The process is gone, so it can no longer write: read again, in case it wrote its final
    // record between our first read and the liveness check.
    let current: RunRecord | undefined;
    let mtime: Date;
    try {
      current = await readJsonFile<RunRecord>(file);
      mtime = (await fs.stat(file)).mtime;
    } catch {
      return run; // removed or damaged meanwhile: report what we read
    }
    if (!current || current.status !== 'running') return current ?? run;
    const interrupted: RunRecord = {
      ...current,
      status: 'interrupted',
      reason: `the process ${current.pid} stopped before the run finished (killed or crashed)` + (current.snapshot ? `; its version ${current.snapshot} had been stored` : ''),
      // The record's last write: the file system's clock is coarse (a few ms behind Date.now()),
      // so it may read just before the start it records; a run never ends before it starts.
      finishedAt: new Date(Math.max(mtime.getTime(), Date.parse(current.startedAt) || 0)).toISOString(),
    };
    try {
      await writeJsonFileAtomic(file, interrupted);
    } catch (err) {
      warn(`cannot record run ${current.id} as interrupted: ${(err as Error).message}`);
    }
    return interrupted;
  }
}
