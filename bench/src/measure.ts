/** Runs a command and measures wall time and peak RSS (GNU time's %M, i.e. the child's rusage). */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const GNU_TIME = "/usr/bin/time";

export function haveGnuTime(): boolean {
  try {
    const r = spawnSync(GNU_TIME, ["-f", "%M", "true"], { encoding: "utf8" });
    return r.status === 0 && /^\d+\s*$/m.test(r.stderr);
  } catch {
    return false;
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
  /** Where stdout/stderr are kept for later inspection. */
  logFile?: string;
  measureMemory?: boolean;
  /** Kill the command after this many seconds (0 or absent: no limit). */
  timeoutSec?: number;
}

export interface RunResult {
  command: string;
  seconds: number;
  /** Max RSS of the measured process tree's largest member, KiB; null if unknown. */
  peakKiB: number | null;
  exitCode: number | null;
  signal: string | null;
  ok: boolean;
  stdout: string;
  stderrTail: string;
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const envPart = env
    ? Object.entries(env)
        .filter(([k]) => /^(HAVEN_|RESTIC_|BORG_)/.test(k) && !/PASSWORD$|PASSPHRASE$/.test(k))
        .map(([k, v]) => `${k}=${quote(String(v))} `)
        .join("")
    : "";
  return envPart + [cmd, ...args].map(quote).join(" ");
}

let timeFileCounter = 0;
const active = new Set<number>();

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

/** Stops every command this module started that is still running (used on Ctrl-C). */
export function killActive(): void {
  for (const pid of active) killGroup(pid);
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = { ...process.env, ...opts.env };
  const okCodes = opts.okCodes ?? [0];
  const useTime = opts.measureMemory !== false && haveGnuTimeCached();
  const timeFile = path.join(os.tmpdir(), `haven-bench-time-${process.pid}-${timeFileCounter++}`);
  const [exe, argv] = useTime ? [GNU_TIME, ["-f", "%M", "-o", timeFile, "--", cmd, ...args]] : [cmd, args];
  const command = commandLine(cmd, args, opts.env);
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    // Own process group, so a timeout or Ctrl-C can stop GNU time *and* the tool under it.
    const child = spawn(exe, argv, { env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    if (child.pid) active.add(child.pid);
    const out: Buffer[] = [];
    let errTail = "";
    let outBytes = 0;
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: "a" }) : null;
    log?.write(`\n$ ${command}\n`);
    child.stdout.on("data", (d: Buffer) => {
      if (outBytes < 64 * 1024 * 1024) out.push(d);
      outBytes += d.length;
      log?.write(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      errTail = (errTail + d.toString("utf8")).slice(-8000);
      log?.write(d);
    });
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let peakKiB: number | null = null;
      if (useTime) {
        try {
          const lines = fs.readFileSync(timeFile, "utf8").trim().split("\n");
          const last = lines[lines.length - 1]!.trim();
          if (/^\d+$/.test(last)) peakKiB = Number(last);
        } catch {
          /* no time output */
        }
        fs.rmSync(timeFile, { force: true });
      }
      if (spawnError) errTail += `\n${spawnError.message}`;
      log?.end(`[exit ${code}${signal ? ` signal ${signal}` : ""}, ${seconds.toFixed(2)} s, peak ${peakKiB ?? "?"} KiB]\n`);
      resolve({
        command,
        seconds,
        peakKiB,
        exitCode: code,
        signal,
        ok: code !== null && okCodes.includes(code),
        stdout: Buffer.concat(out).toString("utf8"),
        stderrTail: errTail.trim(),
      });
    };
    const timer =
      opts.timeoutSec && opts.timeoutSec > 0
        ? setTimeout(() => {
            errTail += `\n[bench] timed out after ${opts.timeoutSec} s, killed`;
            killGroup(child.pid);
          }, opts.timeoutSec * 1000)
        : null;
    child.on("close", () => {
      if (timer) clearTimeout(timer);
      if (child.pid) active.delete(child.pid);
    });
    child.on("error", (e) => finish(null, null, e));
    child.on("close", (code, signal) => finish(code, signal));
  });
}

let gnuTime: boolean | undefined;
export function haveGnuTimeCached(): boolean {
  return (gnuTime ??= haveGnuTime());
}

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}
