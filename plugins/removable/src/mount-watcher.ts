/**
 * Notices drives being mounted, without polling in a loop: util-linux's `findmnt --poll` waits
 * on /proc/self/mountinfo with poll(2) (the kernel wakes it on every change) and prints one line
 * per mount. Each new block-device mount is identified and reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { identify, type DriveIdentity } from './drive-identity.js';

/** findmnt --raw escapes unusual characters as \xHH. */
function unescape(field: string): string {
  return field.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export interface MountEvent extends DriveIdentity {
  device: string;
  mountPoint: string;
}

export function watchMounts(onMount: (event: MountEvent) => void, onProblem: (message: string) => void): { stop(): void } {
  let child: ChildProcess | undefined;
  let stopped = false;
  try {
    child = spawn('findmnt', ['--poll=mount', '--raw', '--noheadings', '-o', 'ACTION,SOURCE,TARGET'], { stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    onProblem(`cannot watch for drives being connected: ${(err as Error).message}`);
    return { stop() {} };
  }
  child.on('error', (err) => onProblem(`cannot watch for drives being connected (findmnt, from util-linux): ${err.message}`));
  child.on('exit', (code) => {
    if (!stopped) onProblem(`the watch for drives being connected ended (findmnt exited ${code})`);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [action, source, target] = line.trim().split(' ').map(unescape);
    if (action !== 'mount' || !source?.startsWith('/dev/') || !target) return;
    void identify([source]).then((ids) => onMount({ device: source, mountPoint: target, ...ids.get(source) }));
  });
  child.unref();
  return {
    stop() {
      stopped = true;
      child?.kill();
    },
  };
}
