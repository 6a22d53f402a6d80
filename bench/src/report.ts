/** Result shapes (the JSON file) and the Markdown rendering. */
import type { CompareResult } from "./tree.js";

export interface StepResult {
  seconds: number | null;
  peakMiB: number | null;
  exitCode: number | null;
  ok: boolean;
  command: string;
  error?: string;
  /** haven's --json document, when it printed one */
  output?: unknown;
}

export interface ToolResult {
  tool: string;
  available: boolean;
  unavailableReason?: string;
  version?: string;
  settings: string;
  steps: { init?: StepResult; first?: StepResult; unchanged?: StepResult; oneChanged?: StepResult; restore?: StepResult };
  repoAfterFirst?: { allocated: number; apparent: number };
  repoFinal?: { allocated: number; apparent: number };
  verify?: CompareResult & { restoredRoot: string };
  sanity?: Array<{ what: string; ok: boolean; seconds: number; command: string; output: unknown }>;
  errors: string[];
  logFile?: string;
}

export interface BenchReport {
  generatedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string; node: string };
  options: { scale: number; seed: number; source: string | null; work: string; tools: string[]; borgCompression: string; largeFile: boolean };
  notes: string[];
  corpus?: {
    kind: "generated" | "external";
    root: string;
    files: number;
    dirs: number;
    symlinks: number;
    bytes: number;
    parts?: Record<string, { files: number; bytes: number }>;
    unreadable?: number;
    changedFile?: string | null;
  };
  tools: ToolResult[];
  largeFile?: {
    ok: boolean;
    bytes: number;
    seconds?: number;
    mbPerSecond?: number;
    peakMiB?: number | null;
    targetMiB?: number;
    repoBytes?: number;
    exitCode?: number | null;
    command?: string;
    output?: unknown;
    error?: string;
  };
}

const mb = (b: number) => (b / 1e6).toFixed(1);

function secs(s: StepResult | undefined): string {
  if (!s) return "–";
  if (!s.ok) return `FAIL (exit ${s.exitCode})`;
  return s.seconds === null ? "?" : s.seconds.toFixed(2);
}

function ratio(s: StepResult | undefined, base: StepResult | undefined): string {
  if (!s?.ok || !base?.ok || !s.seconds || !base.seconds) return "–";
  return (s.seconds / base.seconds).toFixed(2);
}

export function renderMarkdown(r: BenchReport): string {
  const out: string[] = [];
  out.push(`## Haven benchmark — ${r.generatedAt}`);
  out.push("");
  out.push(`Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB.toFixed(1)} GiB RAM, ${r.machine.os}, Node ${r.machine.node}`);
  if (r.corpus) {
    const c = r.corpus;
    out.push("");
    out.push(
      `Corpus (${c.kind === "generated" ? `generated, seed ${r.options.seed}, scale ${r.options.scale}` : "existing folder"}): \`${c.root}\` — ` +
        `${c.files} files, ${mb(c.bytes)} MB (${c.bytes} bytes), ${c.dirs} folders, ${c.symlinks} symlinks` +
        (c.unreadable ? `, ${c.unreadable} unreadable entries` : ""),
    );
    if (c.parts) {
      out.push(
        "  " +
          Object.entries(c.parts)
            .map(([k, v]) => `${k}: ${v.files} files / ${mb(v.bytes)} MB`)
            .join("; ") +
          "; plus symlinks to files and folders, non-ASCII names, empty files and folders",
      );
    }
    out.push(`  One-changed step modifies: ${c.changedFile ? `\`${c.changedFile}\`` : "(skipped)"}`);
  }
  const tools = r.tools;
  if (tools.length) {
    const base = tools.find((t) => t.tool === "restic" && t.available);
    out.push("");
    out.push("| tool | first backup s | ratio | unchanged s | ratio | one-changed s | ratio | restore s | ratio | repo MB | peak MiB |");
    out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const t of tools) {
      if (!t.available) {
        out.push(`| ${t.tool} | not run (see below) | | | | | | | | | |`);
        continue;
      }
      const s = t.steps;
      const b = base?.steps;
      out.push(
        `| ${t.tool} | ${secs(s.first)} | ${ratio(s.first, b?.first)} | ${secs(s.unchanged)} | ${ratio(s.unchanged, b?.unchanged)} | ` +
          `${secs(s.oneChanged)} | ${ratio(s.oneChanged, b?.oneChanged)} | ${secs(s.restore)} | ${ratio(s.restore, b?.restore)} | ` +
          `${t.repoAfterFirst ? mb(t.repoAfterFirst.allocated) : "–"} | ${s.first?.peakMiB != null ? s.first.peakMiB.toFixed(0) : "–"} |`,
      );
    }
    const inits = tools.filter((t) => t.steps.init?.ok && t.steps.init.seconds !== null);
    if (inits.length) {
      out.push("");
      out.push(`First backup includes repository creation: ${inits.map((t) => `${t.tool} init ${t.steps.init!.seconds!.toFixed(2)} s`).join(", ")}; haven creates its repository inside its first backup.`);
    }
    const missing = tools.filter((t) => !t.available);
    if (missing.length) {
      out.push("");
      for (const t of missing) {
        const why = t.unavailableReason ?? "unavailable";
        out.push(why.includes("\n") ? `Not run: ${t.tool}:\n\n\`\`\`\n${why}\n\`\`\`` : `Not run: ${t.tool} — ${why}`);
      }
    }
    out.push("");
    out.push("Restore verification (sha256 of every file, symlink targets, folder structure):");
    for (const t of tools.filter((x) => x.available)) {
      const v = t.verify;
      if (!v) out.push(`- ${t.tool}: NOT VERIFIED (${t.errors.length ? "a step failed" : "no restore"})`);
      else if (v.ok) out.push(`- ${t.tool}: identical — ${v.checkedFiles} files (${mb(v.checkedBytes)} MB), ${v.checkedSymlinks} symlinks, ${v.checkedDirs} folders`);
      else out.push(`- ${t.tool}: **MISMATCH** — missing ${v.missing}, extra ${v.extra}, different ${v.different}; e.g. ${v.problems.slice(0, 3).join("; ")}`);
    }
    out.push("");
    out.push("Versions and settings:");
    for (const t of tools.filter((x) => x.available)) out.push(`- ${t.tool}: ${t.version} — ${t.settings}`);
    const failures = tools.flatMap((t) => t.errors.map((e) => `- ${t.tool}: ${e.replace(/\n/g, "\n  ")}`));
    if (failures.length) {
      out.push("");
      out.push("Failures:");
      out.push(...failures);
    }
    out.push("");
    for (const n of r.notes) out.push(`_${n}_  `);
  }
  if (r.largeFile) {
    const l = r.largeFile;
    out.push("");
    out.push("### Large-file memory check (haven)");
    out.push("");
    if (l.error && l.seconds === undefined) out.push(`Not run: ${l.error}`);
    else {
      out.push(
        `${(l.bytes / 2 ** 30).toFixed(2)} GiB file (real data, not sparse): ${l.seconds?.toFixed(1)} s (${l.mbPerSecond?.toFixed(0)} MB/s), ` +
          `peak RSS **${l.peakMiB?.toFixed(0) ?? "?"} MiB** (target < ${l.targetMiB} MiB) — ${l.ok ? "PASS" : "FAIL"}` +
          (l.repoBytes !== undefined ? `, repo ${mb(l.repoBytes)} MB` : ""),
      );
      if (l.error) out.push(`\nFailed: \`${l.command}\`\n\n\`\`\`\n${l.error}\n\`\`\``);
    }
  }
  return out.join("\n") + "\n";
}
