/** Walking, warming, sizing and fingerprinting folder trees (synchronous: fastest in Node). */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface TreeStats {
  files: number;
  dirs: number;
  symlinks: number;
  other: number;
  bytes: number;
  unreadable: number;
}

export type Entry =
  | { kind: "file"; size: number; hash: string }
  | { kind: "dir" }
  | { kind: "symlink"; target: string }
  | { kind: "other" };

interface WalkItem {
  rel: string;
  abs: string;
  st: fs.Stats;
}

/**
 * Depth-first walk. By default it never follows symlinks. With `followDirLinks` it follows
 * links to folders the way Haven's product rule says a backup does (a link to one of the
 * folder's own ancestors, a loop, stays a link), so a tree restored by Haven can be compared
 * with what it was asked to back up. Unreadable folders are reported, not fatal.
 */
export function* walk(
  root: string,
  onError?: (abs: string, err: unknown) => void,
  options: { followDirLinks?: boolean } = {},
): Generator<WalkItem> {
  const rootSt = fs.statSync(root);
  const stack: Array<{ rel: string; ancestors: Set<string> }> = [{ rel: "", ancestors: new Set([`${rootSt.dev}:${rootSt.ino}`]) }];
  while (stack.length) {
    const { rel, ancestors } = stack.pop()!;
    const absDir = rel ? path.join(root, rel) : root;
    let names: string[];
    try {
      names = fs.readdirSync(absDir);
    } catch (e) {
      onError?.(absDir, e);
      continue;
    }
    names.sort();
    for (const name of names) {
      const r = rel ? path.join(rel, name) : name;
      const abs = path.join(root, r);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(abs);
        if (options.followDirLinks && st.isSymbolicLink()) {
          const target = fs.statSync(abs, { throwIfNoEntry: false });
          if (target?.isDirectory() && !ancestors.has(`${target.dev}:${target.ino}`)) st = target;
        }
      } catch (e) {
        onError?.(abs, e);
        continue;
      }
      yield { rel: r, abs, st };
      if (st.isDirectory()) stack.push({ rel: r, ancestors: new Set([...ancestors, `${st.dev}:${st.ino}`]) });
    }
  }
}

const buf = Buffer.allocUnsafe(4 * 1024 * 1024);

function readWhole(abs: string, hash: crypto.Hash | null): number {
  const fd = fs.openSync(abs, "r");
  let total = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      hash?.update(buf.subarray(0, n));
      total += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return total;
}

/** Reads every regular file once (to warm the page cache) and counts the tree. */
export function warmAndCount(root: string): TreeStats {
  const s: TreeStats = { files: 0, dirs: 0, symlinks: 0, other: 0, bytes: 0, unreadable: 0 };
  for (const { abs, st } of walk(root, () => s.unreadable++)) {
    if (st.isFile()) {
      s.files++;
      try {
        s.bytes += readWhole(abs, null);
      } catch {
        s.unreadable++;
      }
    } else if (st.isDirectory()) s.dirs++;
    else if (st.isSymbolicLink()) s.symlinks++;
    else s.other++;
  }
  return s;
}

/** Disk usage like `du -s` (allocated blocks) plus apparent size like `du -sb`. */
export function diskUsage(root: string): { allocated: number; apparent: number } {
  let allocated = 0;
  let apparent = 0;
  try {
    const st = fs.lstatSync(root);
    allocated += st.blocks * 512;
  } catch {
    return { allocated: 0, apparent: 0 };
  }
  for (const { st } of walk(root)) {
    allocated += st.blocks * 512;
    if (st.isFile()) apparent += st.size;
  }
  return { allocated, apparent };
}

/** Fingerprint of a tree: relative path -> kind plus sha256/size or link target. */
export function fingerprint(root: string, options: { followDirLinks?: boolean } = {}): { entries: Map<string, Entry>; unreadable: string[] } {
  const entries = new Map<string, Entry>();
  const unreadable: string[] = [];
  for (const { rel, abs, st } of walk(root, (a) => unreadable.push(a), options)) {
    if (st.isFile()) {
      try {
        const h = crypto.createHash("sha256");
        const size = readWhole(abs, h);
        entries.set(rel, { kind: "file", size, hash: h.digest("hex") });
      } catch {
        unreadable.push(abs);
      }
    } else if (st.isDirectory()) entries.set(rel, { kind: "dir" });
    else if (st.isSymbolicLink()) entries.set(rel, { kind: "symlink", target: fs.readlinkSync(abs) });
    else entries.set(rel, { kind: "other" });
  }
  return { entries, unreadable };
}

export interface CompareResult {
  ok: boolean;
  checkedFiles: number;
  checkedBytes: number;
  checkedSymlinks: number;
  checkedDirs: number;
  missing: number;
  extra: number;
  different: number;
  /** The first few problems, human-readable. */
  problems: string[];
}

/**
 * Compares a restored tree with the source fingerprint. Files the source could not read are
 * ignored (no tool can restore them); sockets/devices are ignored too.
 */
export function compareTrees(source: Map<string, Entry>, restoredRoot: string): CompareResult {
  const restored = fingerprint(restoredRoot).entries;
  const r: CompareResult = { ok: true, checkedFiles: 0, checkedBytes: 0, checkedSymlinks: 0, checkedDirs: 0, missing: 0, extra: 0, different: 0, problems: [] };
  const note = (s: string) => {
    r.ok = false;
    if (r.problems.length < 10) r.problems.push(s);
  };
  for (const [rel, e] of source) {
    if (e.kind === "other") continue;
    const got = restored.get(rel);
    if (!got) {
      r.missing++;
      note(`missing: ${rel}`);
      continue;
    }
    if (got.kind !== e.kind) {
      r.different++;
      note(`type differs: ${rel} (${e.kind} -> ${got.kind})`);
      continue;
    }
    if (e.kind === "file" && got.kind === "file") {
      if (e.size !== got.size || e.hash !== got.hash) {
        r.different++;
        note(`content differs: ${rel} (${e.size} B -> ${got.size} B)`);
      } else {
        r.checkedFiles++;
        r.checkedBytes += e.size;
      }
    } else if (e.kind === "symlink" && got.kind === "symlink") {
      if (e.target !== got.target) {
        r.different++;
        note(`symlink target differs: ${rel} (${e.target} -> ${got.target})`);
      } else r.checkedSymlinks++;
    } else if (e.kind === "dir") r.checkedDirs++;
  }
  for (const [rel, e] of restored) {
    if (!source.has(rel) && e.kind !== "dir") {
      r.extra++;
      note(`extra: ${rel}`);
    }
  }
  return r;
}
