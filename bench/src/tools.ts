/** Adapters for the backup tools under test. Each gets a private folder for all of its state. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { run, which, type RunResult } from "./measure.js";

export interface ToolContext {
  /** Private folder: repository, state/caches, restore target, logs. */
  dir: string;
  repo: string;
  source: string;
  passwordFile: string;
  password: string;
  logFile: string;
  timeoutSec: number;
}

export interface Tool {
  name: string;
  /** How the tool is configured for encryption and compression (goes into the report). */
  settings: string;
  detect(): { version: string } | { error: string };
  /** Repository creation when the tool needs a separate step (timed as part of the first backup). */
  init(ctx: ToolContext): Promise<RunResult | null>;
  backup(ctx: ToolContext, n: number): Promise<RunResult>;
  restore(ctx: ToolContext, target: string): Promise<RunResult>;
  /** Where the source's content lands under the restore target. */
  restoredRoot(ctx: ToolContext, target: string): string;
  /** Untimed sanity checks after the backups (listed in the JSON, failures reported). */
  sanity?(ctx: ToolContext): Promise<Array<{ what: string; result: RunResult }>>;
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}

// ---------------------------------------------------------------------------------------------
export class Restic implements Tool {
  name = "restic";
  settings = "repo v2, AES-256 + Poly1305 (always on), --compression auto (zstd)";

  detect() {
    if (!which("restic")) return { error: "not installed (run bench/setup.sh)" };
    const r = spawnSync("restic", ["version"], { encoding: "utf8" });
    return r.status === 0 ? { version: firstLine(r.stdout) } : { error: firstLine(r.stderr) || "restic version failed" };
  }

  private env(ctx: ToolContext): NodeJS.ProcessEnv {
    return {
      RESTIC_REPOSITORY: ctx.repo,
      RESTIC_PASSWORD_FILE: ctx.passwordFile,
      RESTIC_CACHE_DIR: path.join(ctx.dir, "cache"),
      RESTIC_PROGRESS_FPS: "0.1",
    };
  }

  init(ctx: ToolContext) {
    return run("restic", ["init", "--repository-version", "2", "-q"], { env: this.env(ctx), logFile: ctx.logFile, timeoutSec: ctx.timeoutSec });
  }

  backup(ctx: ToolContext) {
    // exit 3: snapshot made but some source files could not be read
    return run("restic", ["backup", "--compression", "auto", "--host", "bench", "-q", ctx.source], {
      env: this.env(ctx),
      okCodes: [0, 3],
      logFile: ctx.logFile,
      timeoutSec: ctx.timeoutSec,
    });
  }

  restore(ctx: ToolContext, target: string) {
    return run("restic", ["restore", "latest", "--target", target, "-q"], { env: this.env(ctx), logFile: ctx.logFile, timeoutSec: ctx.timeoutSec });
  }

  restoredRoot(ctx: ToolContext, target: string) {
    return path.join(target, ctx.source);
  }
}

// ---------------------------------------------------------------------------------------------
export class Borg implements Tool {
  name = "borg";
  compression: string;
  settings: string;

  constructor(compression = "zstd,1") {
    this.compression = compression;
    this.settings = `--encryption repokey (AES-256-CTR + HMAC-SHA256), --compression ${compression}`;
  }

  detect() {
    if (!which("borg")) return { error: "not installed (run bench/setup.sh)" };
    const r = spawnSync("borg", ["--version"], { encoding: "utf8" });
    return r.status === 0 ? { version: firstLine(r.stdout) } : { error: firstLine(r.stderr) || "borg --version failed" };
  }

  private env(ctx: ToolContext): NodeJS.ProcessEnv {
    return {
      BORG_REPO: ctx.repo,
      BORG_PASSPHRASE: ctx.password,
      BORG_BASE_DIR: path.join(ctx.dir, "borg-base"),
      BORG_RELOCATED_REPO_ACCESS_IS_OK: "yes",
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: "no",
      BORG_CHECK_I_KNOW_WHAT_I_AM_DOING: "NO",
    };
  }

  init(ctx: ToolContext) {
    return run("borg", ["init", "--encryption", "repokey"], { env: this.env(ctx), logFile: ctx.logFile, timeoutSec: ctx.timeoutSec });
  }

  backup(ctx: ToolContext, n: number) {
    // borg exit 1 = warning (e.g. a file could not be read): the archive was made
    return run("borg", ["create", "--compression", this.compression, `::snap-${n}`, ctx.source], {
      env: this.env(ctx),
      okCodes: [0, 1],
      logFile: ctx.logFile,
      timeoutSec: ctx.timeoutSec,
    });
  }

  private lastArchive = "";
  async restore(ctx: ToolContext, target: string) {
    fs.mkdirSync(target, { recursive: true });
    // The newest archive is the last one created; `borg create` names them snap-1, snap-2, …
    const list = spawnSync("borg", ["list", "--short"], { env: { ...process.env, ...this.env(ctx) }, encoding: "utf8" });
    const names = list.stdout.trim().split("\n").filter(Boolean);
    this.lastArchive = names[names.length - 1] ?? "snap-3";
    return run("borg", ["extract", `::${this.lastArchive}`], { env: this.env(ctx), cwd: target, okCodes: [0, 1], logFile: ctx.logFile, timeoutSec: ctx.timeoutSec });
  }

  restoredRoot(ctx: ToolContext, target: string) {
    return path.join(target, ctx.source.replace(/^\/+/, ""));
  }
}

// ---------------------------------------------------------------------------------------------
export class Haven implements Tool {
  name = "haven";
  settings = "--password-file (repository encryption), compression as built in (zstd)";
  readonly bin: string;

  constructor(mainDir: string) {
    this.bin = path.join(mainDir, "core", "bin", "haven.js");
  }

  detect() {
    if (!fs.existsSync(this.bin)) return { error: `${this.bin} does not exist (build with \`npx tsc -b\` at the project root)` };
    const r = spawnSync(process.execPath, [this.bin, "--help"], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) {
      return { error: `\`node ${this.bin} --help\` exited ${r.status}:\n${(r.stderr || r.stdout).trim().split("\n").slice(0, 8).join("\n")}` };
    }
    const v = spawnSync(process.execPath, [this.bin, "--version"], { encoding: "utf8", timeout: 60_000 });
    return { version: v.status === 0 && v.stdout.trim() ? `haven ${firstLine(v.stdout)}` : "haven (version unknown)" };
  }

  env(ctx: ToolContext): NodeJS.ProcessEnv {
    return { HAVEN_HOME: path.join(ctx.dir, "home") };
  }

  async init() {
    return null; // the first `haven backup` creates the task and the repository
  }

  backup(ctx: ToolContext) {
    return run(process.execPath, [this.bin, "backup", ctx.source, "--to", `local:${ctx.repo}`, "--name", "bench", "--password-file", ctx.passwordFile, "--json"], {
      env: this.env(ctx),
      okCodes: [0, 3],
      logFile: ctx.logFile,
      timeoutSec: ctx.timeoutSec,
    });
  }

  async sanity(ctx: ToolContext) {
    const opts = { env: this.env(ctx), logFile: ctx.logFile, timeoutSec: ctx.timeoutSec, measureMemory: false };
    return [
      { what: "snapshots", result: await run(process.execPath, [this.bin, "snapshots", "bench", "--json"], opts) },
      { what: "check", result: await run(process.execPath, [this.bin, "check", "bench"], opts) },
    ];
  }

  restore(ctx: ToolContext, target: string) {
    return run(process.execPath, [this.bin, "restore", "bench", "--to", target, "--snapshot", "latest", "--json"], {
      env: this.env(ctx),
      logFile: ctx.logFile,
      timeoutSec: ctx.timeoutSec,
    });
  }

  restoredRoot(ctx: ToolContext, target: string) {
    // The contract does not pin the layout under --to; accept the usual ones.
    const candidates = [path.join(target, ctx.source), path.join(target, path.basename(ctx.source)), target];
    return candidates.find((c) => fs.existsSync(c) && fs.readdirSync(c).length > 0 && c !== target) ?? target;
  }
}
