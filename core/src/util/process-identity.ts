/**
 * Telling whether the process that left a lock (or a run record) is still the one running.
 * A pid alone is not enough: after a reboot, or once pids wrap, the same number names another
 * process, and a lock of a run that died in a crash would look held forever. On Linux a
 * process is also identified by the boot it runs in (`/proc/sys/kernel/random/boot_id`) and
 * its start time (`/proc/<pid>/stat`, field 22); elsewhere only the pid is compared.
 */
import { readFileSync } from 'node:fs';

export interface ProcessStamp {
  pid: number;
  /** Boot id of the system the process ran in (Linux). */
  boot?: string;
  /** Start time of the process, in clock ticks since boot (Linux). */
  started?: string;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

let bootId: string | undefined | null = null;

function currentBoot(): string | undefined {
  if (bootId === null) bootId = readOrUndefined('/proc/sys/kernel/random/boot_id');
  return bootId;
}

/** The start time of a live process, or undefined where /proc cannot say. */
function startTimeOf(pid: number): string | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 of the whole line
}

export function isProcessAlive(pid: number): boolean {
  // pid 0 and negative pids address process groups, never one owner.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process, stamped so that a later reader can tell it from a successor with the same pid. */
export function ownStamp(): ProcessStamp {
  const stamp: ProcessStamp = { pid: process.pid };
  const boot = currentBoot();
  const started = startTimeOf(process.pid);
  if (boot) stamp.boot = boot;
  if (started) stamp.started = started;
  return stamp;
}

/** Whether the stamped process (on this host) still runs: same pid, same boot, same start time. */
export function isStampAlive(stamp: ProcessStamp): boolean {
  if (!isProcessAlive(stamp.pid)) return false;
  const boot = currentBoot();
  if (stamp.boot && boot && stamp.boot !== boot) return false;
  if (stamp.started) {
    const started = startTimeOf(stamp.pid);
    if (started && started !== stamp.started) return false;
  }
  return true;
}
