/**
 * A real `haven service` for tests: started as root on a socket inside a test sandbox, stopped
 * by PID (SIGTERM, then SIGKILL) — also when the test process ends after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { HAVEN_BIN, nodeAs, type HavenSandbox } from './haven-cli.js';

export interface ServiceUnderTest {
  readonly pid: number;
  readonly socket: string;
  /** What the service wrote to stderr so far (its log). */
  log(): string;
  /** SIGTERM, and the exit code once it ended (SIGKILL after 20 s). */
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `haven service` with the sandbox's folders (as root, or as `user` for `--user`);
 * resolves once it listens on HAVEN_SOCKET.
 */
export async function startService(haven: HavenSandbox, options: { args?: string[]; user?: { uid: number; gid: number }; env?: NodeJS.ProcessEnv } = {}): Promise<ServiceUnderTest> {
  const env = { ...haven.env, ...options.env };
  const socket = env.HAVEN_SOCKET;
  if (!socket) throw new Error('the sandbox has no HAVEN_SOCKET');
  const node = nodeAs(options.user);
  const child = spawn(node[0], [...node.slice(1), HAVEN_BIN, 'service', ...(options.args ?? [])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    running.delete(child);
    resolve(code);
  }));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`haven service did not start within 20 s: ${log}`)), 20_000);
    const poll = setInterval(() => {
      if (log.includes('listening on')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`haven service exited (${code}) before it listened: ${log}`));
    });
  });
  return {
    pid: child.pid!,
    socket,
    log: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
