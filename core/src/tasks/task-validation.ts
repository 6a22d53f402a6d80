/**
 * Checks of task settings that need no plugin: names, sources, retention, password choice.
 * Each error says which option is wrong and how.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors.js';
import { parseSchedule } from '../schedule/schedule-spec.js';
import type { Retention } from './task.js';
import { validatePolicy } from '../retention/retention-policy.js';
import { passwordFileModeError } from './password-file.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateTaskName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(`task name "${name}" is not valid: use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  return name;
}

/** The root of the system volume cannot be copied while that system runs (product.md). */
export function isSystemRoot(source: string): boolean {
  return path.resolve(source) === path.parse(path.resolve(source)).root;
}

export function validateSources(sources: string[], cwd: string): string[] {
  if (sources.length === 0) throw new UsageError('a task needs at least one --source');
  return sources.map((source) => {
    const absolute = path.resolve(cwd, source);
    if (isSystemRoot(absolute)) {
      throw new UsageError(
        `source "${source}" is the root of the system volume, which cannot be copied while the system runs from it; back up the folders you need instead (e.g. /home, /etc)`,
      );
    }
    try {
      statSync(absolute);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new UsageError(`source "${source}" cannot be reached: permission denied (a task backs up what its owner can read)`);
      throw new UsageError(`source "${source}" does not exist`);
    }
    return absolute;
  });
}

/** The policy without unset rules, checked (counts ≥ -1, a valid --keep-within). */
export function validateRetention(retention: Retention): Retention {
  const out = Object.fromEntries(Object.entries(retention).filter(([, v]) => v !== undefined && v !== '')) as Retention;
  validatePolicy(out);
  return out;
}

export function validateScheduleText(schedule: string): string {
  parseSchedule(schedule);
  return schedule.trim().replace(/\s+/g, ' ');
}

export function validatePasswordFile(file: string, cwd: string): string {
  const absolute = path.resolve(cwd, file);
  let mode: number;
  try {
    const stats = statSync(absolute);
    if (!stats.isFile()) throw new Error('not a file');
    mode = stats.mode;
  } catch {
    throw new UsageError(`--password-file "${file}" is not a readable file`);
  }
  const refused = passwordFileModeError(absolute, mode);
  if (refused) throw refused;
  return absolute;
}
