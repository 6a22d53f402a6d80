/**
 * The backup/restore progress line: on a terminal by default, on a pipe only with --progress,
 * never on stdout (which --json owns). Totals grow while the sources are still being walked;
 * percentage and ETA are shown once they are known.
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

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function renderProgressLine(label: string, p: BackupProgress, elapsedSeconds: number, barWidth = 20): string {
  const rate = p.bytesDone / Math.max(elapsedSeconds, 0.001);
  const files = `${p.filesDone}${p.filesTotal !== undefined ? `/${p.filesTotal}` : ''} files`;
  const bytes = `${formatBytes(p.bytesDone)}${p.bytesTotal !== undefined ? ` of ${formatBytes(p.bytesTotal)}` : ''}`;
  const parts = [label];
  if (p.bytesTotal !== undefined && p.bytesTotal > 0) {
    const fraction = Math.min(p.bytesDone / p.bytesTotal, 1);
    const filled = Math.round(fraction * barWidth);
    parts.push(`[${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`);
    parts.push(files, bytes, `${formatBytes(rate)}/s`, `ETA ${formatEta((p.bytesTotal - p.bytesDone) / rate)}`);
  } else {
    parts.push(files, bytes, `${formatBytes(rate)}/s`);
  }
  if (p.currentPath) parts.push(path.basename(p.currentPath).slice(0, 40));
  return parts.join(' | ');
}

export function createProgress(label: string, options: { json?: boolean; progress?: boolean }): ProgressReporter {
  const wanted = options.progress ?? (process.stderr.isTTY === true && !options.json);
  if (!wanted) return silent;
  const started = Date.now();
  let last: BackupProgress = { filesDone: 0, bytesDone: 0 };
  // cli-progress handles redraw, cursor and non-TTY throttling; the line itself is ours.
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: () => renderProgressLine(label, last, (Date.now() - started) / 1000),
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 2000,
  });
  let running = false;
  return {
    update(p) {
      last = p;
      if (!running) {
        bar.start(1, 0);
        running = true;
      } else bar.update(0);
    },
    stop() {
      if (running) bar.stop();
    },
  };
}
