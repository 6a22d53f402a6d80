/**
 * Haven benchmark harness: `npm run bench [-- options]`. See bench/README.md.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateCorpus, loadManifest, type CorpusManifest } from "./corpus.js";
import { ensureLargeFile } from "./largefile.js";
import { haveGnuTimeCached, killActive, type RunResult } from "./measure.js";
import { Mutator, sha256File } from "./mutate.js";
import { renderMarkdown, type BenchReport, type StepResult, type ToolResult } from "./report.js";
import { Borg, Haven, Restic, type Tool, type ToolContext } from "./tools.js";
import { compareTrees, diskUsage, fingerprint, walk, warmAndCount, type Entry } from "./tree.js";

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const mainDir = path.resolve(benchDir, "..");

const HELP = `Usage: npm run bench -- [options]

  --work DIR          work folder (corpus, repositories, logs); default bench/work
  --source DIR        benchmark an existing folder instead of the generated corpus
                      (one of its files is modified for the "one changed" step and put back
                      afterwards, content and mtime; use --no-modify to skip that step)
  --scale N           corpus scale (default 1 ≈ 20k small files, ~1 GB in total)
  --seed N            corpus seed (default 1)
  --tools LIST        comma-separated subset of restic,borg,haven (default all; tools that
                      are not installed are reported as such); "none" only prepares the corpus
  --borg-compression  borg's --compression (default zstd,1)
  --no-modify         skip the "one file changed" step
  --keep              keep repositories and restored trees under the work folder
  --large-file        also run the large-file memory check with haven
  --large-file-gib N  size of that file in GiB (default 4)
  --skip-main         only the large-file check (implies --large-file)
  --timeout SEC       kill any single command after SEC seconds (default 1200)
  --results FILE      JSON output (default bench/results/latest.json; Markdown next to it)
  -h, --help`;

function log(s: string): void {
  process.stderr.write(s + "\n");
}

function fail(msg: string): never {
  log(`bench: ${msg}`);
  process.exit(2);
}

const { values: opt } = parseArgs({
  options: {
    work: { type: "string" },
    source: { type: "string" },
    scale: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    tools: { type: "string", default: "restic,borg,haven" },
    "borg-compression": { type: "string", default: "zstd,1" },
    "no-modify": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    "large-file": { type: "boolean", default: false },
    "large-file-gib": { type: "string", default: "4" },
    "skip-main": { type: "boolean", default: false },
    timeout: { type: "string", default: "1200" },
    results: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  allowPositionals: false,
});

if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const scale = Number(opt.scale);
const seed = Number(opt.seed);
const largeGib = Number(opt["large-file-gib"]);
const timeoutSec = Number(opt.timeout);
if (!(scale > 0)) fail(`--scale must be a positive number, got ${opt.scale}`);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, got ${opt.seed}`);
if (!(largeGib > 0)) fail(`--large-file-gib must be positive, got ${opt["large-file-gib"]}`);
const toolNames = opt.tools === "none" ? [] : opt.tools!.split(",").map((s) => s.trim()).filter(Boolean);
for (const t of toolNames) if (!["restic", "borg", "haven"].includes(t)) fail(`unknown tool in --tools: ${t}`);
const work = path.resolve(opt.work ?? path.join(benchDir, "work"));
const resultsFile = path.resolve(opt.results ?? path.join(benchDir, "results", "latest.json"));
const runLarge = opt["large-file"] || opt["skip-main"];

fs.mkdirSync(work, { recursive: true });
const runsDir = path.join(work, "runs");
const mutator = new Mutator(work);

const onSignal = (sig: NodeJS.Signals) => {
  log(`\nbench: ${sig}; stopping commands and putting the modified file back`);
  killActive();
  try {
    mutator.finish();
  } catch (e) {
    log(`bench: could not put the modified file back: ${String(e)} (see ${work}/mutate-pending.json)`);
  }
  process.exit(130);
};
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);

const MiB = 1024 * 1024;
const toMiB = (kib: number | null) => (kib === null ? null : kib / 1024);

function step(r: RunResult, extra?: Partial<StepResult>): StepResult {
  return {
    seconds: r.seconds,
    peakMiB: toMiB(r.peakKiB),
    exitCode: r.exitCode,
    ok: r.ok,
    command: r.command,
    ...(r.ok ? {} : { error: `exit ${r.exitCode}${r.signal ? ` (signal ${r.signal})` : ""}: ${r.stderrTail.split("\n").slice(-8).join("\n")}` }),
    ...extra,
  };
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function pickChangeTarget(root: string): string | null {
  // the regular file closest to 4 MiB among files of at least 1 MiB that we may write
  let best: string | null = null;
  let bestDist = Infinity;
  for (const { abs, rel, st } of walk(root)) {
    if (!st.isFile() || st.size < MiB) continue;
    const d = Math.abs(st.size - 4 * MiB);
    if (d < bestDist) {
      try {
        fs.accessSync(abs, fs.constants.R_OK | fs.constants.W_OK);
      } catch {
        continue;
      }
      best = rel;
      bestDist = d;
    }
  }
  return best;
}

async function benchTool(
  tool: Tool,
  source: string,
  changeRel: string | null,
  baseFp: Map<string, Entry>,
): Promise<ToolResult> {
  const res: ToolResult = { tool: tool.name, available: false, settings: tool.settings, steps: {}, errors: [] };
  const d = tool.detect();
  if ("error" in d) {
    res.unavailableReason = d.error;
    log(`[${tool.name}] skipped: ${d.error}`);
    return res;
  }
  res.available = true;
  res.version = d.version;
  log(`[${tool.name}] ${d.version}`);

  const dir = path.join(runsDir, tool.name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const password = `bench-${tool.name}-password-${seed}`;
  const passwordFile = path.join(dir, "password");
  fs.writeFileSync(passwordFile, password + "\n", { mode: 0o600 });
  const ctx: ToolContext = { dir, repo: path.join(dir, "repo"), source, passwordFile, password, logFile: path.join(dir, "log.txt"), timeoutSec };
  res.logFile = ctx.logFile;

  // Same starting point for everyone: the original file content, and a warm page cache.
  if (changeRel) mutator.revert();
  const warm = warmAndCount(source);
  log(`[${tool.name}] warm-up read: ${warm.files} files, ${(warm.bytes / 1e6).toFixed(1)} MB`);

  const stop = (what: string, r: RunResult) => {
    const msg = `${what} failed: ${r.command}\n  exit ${r.exitCode}${r.signal ? ` signal ${r.signal}` : ""}\n  ${r.stderrTail.split("\n").slice(-12).join("\n  ")}`;
    res.errors.push(msg);
    log(`[${tool.name}] ${msg}`);
  };

  // 1. first backup (repository creation included: haven's first backup creates it too)
  const init = await tool.init(ctx);
  if (init) {
    res.steps.init = step(init);
    if (!init.ok) {
      stop("init", init);
      return res;
    }
  }
  const first = await tool.backup(ctx, 1);
  res.steps.first = step(first, {
    seconds: first.seconds + (init?.seconds ?? 0),
    peakMiB: Math.max(toMiB(first.peakKiB) ?? 0, toMiB(init?.peakKiB ?? null) ?? 0) || null,
    output: tool.name === "haven" ? parseJson(first.stdout) : undefined,
  });
  log(`[${tool.name}] first backup: ${res.steps.first.seconds!.toFixed(2)} s (exit ${first.exitCode}), peak ${res.steps.first.peakMiB?.toFixed(0) ?? "?"} MiB`);
  if (!first.ok) {
    stop("first backup", first);
    return res;
  }
  res.repoAfterFirst = diskUsage(ctx.repo);

  // 2. unchanged re-run
  const again = await tool.backup(ctx, 2);
  res.steps.unchanged = step(again, { output: tool.name === "haven" ? parseJson(again.stdout) : undefined });
  log(`[${tool.name}] unchanged re-run: ${again.seconds.toFixed(2)} s (exit ${again.exitCode})`);
  if (!again.ok) stop("unchanged re-run", again);

  // 3. one file changed
  let fp = baseFp;
  if (changeRel) {
    mutator.modify(seed);
    const abs = path.join(source, changeRel);
    const h = sha256File(abs);
    fp = new Map(baseFp);
    fp.set(changeRel, { kind: "file", size: h.size, hash: h.hash });
    const changed = await tool.backup(ctx, 3);
    res.steps.oneChanged = step(changed, { output: tool.name === "haven" ? parseJson(changed.stdout) : undefined });
    log(`[${tool.name}] one-changed re-run: ${changed.seconds.toFixed(2)} s (exit ${changed.exitCode})`);
    if (!changed.ok) stop("one-changed re-run", changed);
  }
  res.repoFinal = diskUsage(ctx.repo);

  if (tool.sanity) {
    res.sanity = [];
    for (const { what, result } of await tool.sanity(ctx)) {
      const out = parseJson(result.stdout);
      res.sanity.push({ what, ok: result.ok, seconds: result.seconds, command: result.command, output: out ?? result.stdout.slice(0, 2000) });
      if (!result.ok) stop(`${what} (untimed sanity check)`, result);
      else if (what === "snapshots") {
        const n = Array.isArray(out) ? out.length : Array.isArray((out as { snapshots?: unknown[] } | undefined)?.snapshots) ? (out as { snapshots: unknown[] }).snapshots.length : "?";
        log(`[${tool.name}] snapshots: ${n}`);
      } else log(`[${tool.name}] ${what}: ok (${result.seconds.toFixed(2)} s)`);
    }
  }

  // 4. full restore of the latest snapshot, then compare with the source
  const target = path.join(dir, "restore");
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  const restore = await tool.restore(ctx, target);
  res.steps.restore = step(restore, { output: tool.name === "haven" ? parseJson(restore.stdout) : undefined });
  log(`[${tool.name}] restore: ${restore.seconds.toFixed(2)} s (exit ${restore.exitCode})`);
  if (!restore.ok) stop("restore", restore);
  else {
    const root = tool.restoredRoot(ctx, target);
    // Haven follows links to folders (the product's rule), so what it must restore is the
    // source seen through those links; the others keep links as links.
    const expected = tool.name === "haven" ? fingerprint(source, { followDirLinks: true }).entries : fp;
    const cmp = compareTrees(expected, root);
    res.verify = { restoredRoot: path.relative(target, root) || ".", ...cmp };
    log(
      `[${tool.name}] restore verify: ${cmp.ok ? "IDENTICAL" : "MISMATCH"} — ${cmp.checkedFiles} files (${(cmp.checkedBytes / 1e6).toFixed(1)} MB), ${cmp.checkedSymlinks} symlinks, ${cmp.checkedDirs} dirs` +
        (cmp.ok ? "" : `; missing ${cmp.missing}, extra ${cmp.extra}, different ${cmp.different}\n    ${cmp.problems.join("\n    ")}`),
    );
  }
  // Restored trees and repositories stay until the whole run ends: on ext4, creating files
  // soon after deleting tens of thousands is much slower, which would penalise whichever
  // tool restores after another's tree was removed.
  return res;
}

async function largeFileCheck(): Promise<BenchReport["largeFile"]> {
  const haven = new Haven(mainDir);
  const d = haven.detect();
  if ("error" in d) {
    log(`[large-file] haven unavailable: ${d.error}`);
    return { ok: false, error: d.error, bytes: 0 };
  }
  const lf = ensureLargeFile(path.join(work, "largefile"), largeGib, seed, log);
  log(`[large-file] ${lf.reused ? "reusing" : `wrote in ${lf.seconds.toFixed(1)} s`} ${lf.file}`);
  warmAndCount(lf.source);
  const dir = path.join(runsDir, "haven-large");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const passwordFile = path.join(dir, "password");
  fs.writeFileSync(passwordFile, "bench-large-password\n", { mode: 0o600 });
  const ctx: ToolContext = { dir, repo: path.join(dir, "repo"), source: lf.source, passwordFile, password: "", logFile: path.join(dir, "log.txt"), timeoutSec };
  const r = await haven.backup(ctx);
  const repo = diskUsage(ctx.repo);
  const peakMiB = toMiB(r.peakKiB);
  const result = {
    ok: r.ok && peakMiB !== null && peakMiB < 300,
    bytes: lf.bytes,
    seconds: r.seconds,
    mbPerSecond: lf.bytes / 1e6 / r.seconds,
    peakMiB,
    targetMiB: 300,
    repoBytes: repo.allocated,
    exitCode: r.exitCode,
    command: r.command,
    output: parseJson(r.stdout),
    ...(r.ok ? {} : { error: r.stderrTail.split("\n").slice(-12).join("\n") }),
  };
  log(`[large-file] ${(lf.bytes / 2 ** 30).toFixed(2)} GiB: ${r.seconds.toFixed(1)} s, exit ${r.exitCode}, peak RSS ${peakMiB?.toFixed(0) ?? "?"} MiB (target < 300)`);
  if (!r.ok) log(`[large-file] failed: ${r.command}\n  ${r.stderrTail.split("\n").slice(-12).join("\n  ")}`);
  if (!opt.keep) fs.rmSync(ctx.repo, { recursive: true, force: true });
  return result;
}

async function main(): Promise<void> {
  const recovered = mutator.recover();
  if (recovered) log(`bench: put back ${recovered}, left modified by an interrupted run`);
  if (!haveGnuTimeCached()) log("bench: GNU time (/usr/bin/time) not found: peak memory will be missing (bench/setup.sh installs it)");

  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "?",
      memoryGiB: os.totalmem() / 2 ** 30,
      os: `${os.type()} ${os.release()}`,
      node: process.version,
    },
    options: { scale, seed, source: opt.source ?? null, work, tools: toolNames, borgCompression: opt["borg-compression"]!, largeFile: runLarge },
    notes: [
      "Wall seconds; ratio = seconds / restic's seconds. First backup includes repository creation (restic init / borg init) because haven's first backup creates its repository.",
      "Warm page cache: every tool starts after the same full read of the source. Page cache is not dropped.",
      "Repo MB = allocated size (du -s) after the first backup, 10^6 bytes. Peak MiB = max RSS of the first backup's process (GNU time %M).",
      "One-changed = 64 KiB overwritten in the middle of one mid-size file (same bytes for every tool).",
    ],
    tools: [],
  };

  if (!opt["skip-main"]) {
    let source: string;
    let changeRel: string | null;
    if (opt.source) {
      source = path.resolve(opt.source);
      if (!fs.statSync(source, { throwIfNoEntry: false })?.isDirectory()) fail(`--source ${source} is not a folder`);
      changeRel = opt["no-modify"] ? null : pickChangeTarget(source);
      log(`bench: source ${source}`);
    } else {
      let m: CorpusManifest | null = loadManifest(work, { seed, scale });
      if (m) log(`bench: reusing corpus in ${m.root} (seed ${seed}, scale ${scale})`);
      else {
        log(`bench: generating corpus (seed ${seed}, scale ${scale}) in ${path.join(work, "corpus")} …`);
        m = generateCorpus(work, { seed, scale }, log);
        log(`bench: corpus generated in ${m.generatedSeconds.toFixed(1)} s`);
      }
      source = m.root;
      changeRel = opt["no-modify"] ? null : m.changeTarget;
      report.corpus = { kind: "generated", root: m.root, files: m.files, dirs: m.dirs, symlinks: m.symlinks, bytes: m.bytes, parts: m.parts };
    }
    if (changeRel) mutator.prepare(path.join(source, changeRel));

    try {
      if (changeRel) mutator.revert();
      log("bench: fingerprinting the source (sha256 of every file; also the warm-up read) …");
      const t0 = process.hrtime.bigint();
      const { entries, unreadable } = fingerprint(source);
      const fpSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let files = 0;
      let bytes = 0;
      let symlinks = 0;
      let dirs = 0;
      for (const e of entries.values()) {
        if (e.kind === "file") {
          files++;
          bytes += e.size;
        } else if (e.kind === "symlink") symlinks++;
        else if (e.kind === "dir") dirs++;
      }
      // Counts as seen by the walk (folders exclude the root itself), for both kinds of source.
      if (!report.corpus) report.corpus = { kind: "external", root: source, files, dirs, symlinks, bytes };
      else Object.assign(report.corpus, { files, dirs, symlinks, bytes });
      report.corpus.unreadable = unreadable.length;
      report.corpus.changedFile = changeRel;
      log(`bench: source: ${files} files, ${dirs} folders, ${symlinks} symlinks, ${(bytes / 1e6).toFixed(1)} MB (hashed in ${fpSeconds.toFixed(1)} s)` + (unreadable.length ? `, ${unreadable.length} unreadable` : ""));

      const all: Record<string, Tool> = { restic: new Restic(), borg: new Borg(opt["borg-compression"]), haven: new Haven(mainDir) };
      for (const name of ["restic", "borg", "haven"]) {
        if (!toolNames.includes(name)) continue;
        report.tools.push(await benchTool(all[name]!, source, changeRel, entries));
      }
    } finally {
      if (changeRel) mutator.finish();
    }
    if (!opt.keep) fs.rmSync(runsDir, { recursive: true, force: true, maxRetries: 2 });
  }

  if (runLarge) report.largeFile = await largeFileCheck();

  const md = renderMarkdown(report);
  console.log(md);
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  fs.writeFileSync(resultsFile + ".tmp", JSON.stringify(report, null, 2) + "\n");
  fs.renameSync(resultsFile + ".tmp", resultsFile);
  const mdFile = resultsFile.replace(/\.json$/, "") + ".md";
  fs.writeFileSync(mdFile + ".tmp", md);
  fs.renameSync(mdFile + ".tmp", mdFile);
  log(`bench: wrote ${path.relative(process.cwd(), resultsFile)} and ${path.relative(process.cwd(), mdFile)}`);

  const broken = report.tools.filter((t) => t.available && (t.errors.length > 0 || !t.verify?.ok));
  if (broken.length || (report.largeFile && !report.largeFile.ok)) process.exitCode = 1;
}

main().catch((e) => {
  log(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  try {
    mutator.finish();
  } catch {
    /* reported on the next run */
  }
  process.exit(1);
});
