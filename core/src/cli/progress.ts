/**
 * The backup/restore progress bar: on a terminal by default, on a pipe only with --progress,
 * never on stdout (which --json owns).
 */
import cliProgress from 'cli-progress';
import * as path from 'node:path';
import type { BackupProgress } from '../engine/index.js';
import { formatBytes } from './output.js';

export interface ProgressReporter {
  update(p: BackupProgress): void;
  stop(): void;
}

const silent: ProgressReporter = { update() {}, stop() {} };

export function createProgress(label: string, options: { json?: boolean; progress?: boolean }): ProgressReporter {
  const wanted = options.progress ?? (process.stderr.isTTY === true && !options.json);
  if (!wanted) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {files} files | {bytes} | {rate}/s | ETA {eta_formatted} | {current}`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      etaBuffer: 50,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  return {
    update(p) {
      const total = Math.max(p.bytesTotal ?? 0, p.bytesDone, 1);
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const payload = {
        files: `${p.filesDone}${p.filesTotal !== undefined ? `/${p.filesTotal}` : ''}`,
        bytes: formatBytes(p.bytesDone),
        rate: formatBytes(p.bytesDone / seconds),
        current: p.currentPath ? path.basename(p.currentPath).slice(0, 40) : '',
      };
      if (!running) {
        bar.start(total, p.bytesDone, payload);
        running = true;
      } else {
        bar.setTotal(total);
        bar.update(p.bytesDone, payload);
      }
    },
    stop() {
      if (running) bar.stop();
    },
  };
}
