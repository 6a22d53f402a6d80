/**
 * Deterministic mixed corpus: everything is derived from (seed, scale) so two machines, or two
 * runs, back up byte-identical data.
 *
 * Layout (scale 1, roughly 1 GB):
 *   docs/…        ~20k text-like files of 1–30 KB (compressible), ~100 per folder, some non-ASCII names
 *   media/, bin/  mid-size binaries of 2–6 MB: half incompressible, half semi-compressible
 *   large/        a few large files (hundreds of MB in total, scaled by --scale)
 *   dups/, …      identical copies across folders (text files, binaries, one large file)
 *   links/        symlinks to files and to folders (relative)
 *   misc/         empty files and empty folders
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Prng } from "./prng.js";

export const CORPUS_VERSION = 2;

export interface CorpusSpec {
  seed: number;
  scale: number;
}

export interface CorpusManifest extends CorpusSpec {
  version: number;
  root: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Relative path of the mid-size file the "one file changed" step modifies. */
  changeTarget: string;
  parts: Record<string, { files: number; bytes: number }>;
  generatedSeconds: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

// Names that exercise UTF-8 handling (NFC, multi-byte, emoji, spaces).
const NON_ASCII_DIRS = [
  "Ünïcödé",
  "日本語フォルダ",
  "données été",
  "Документы",
  "emoji 📦 box",
  "ελληνικά",
  "中文 文档",
  "naïve café",
];
const NON_ASCII_FILE_PREFIXES = ["résumé", "данные", "文档", "Straße", "θέμα", "🎵 notes", "ñandú", "데이터"];

/** Builds the vocabulary and a large pool of text that file contents are sliced from. */
function buildTextPool(rng: Prng, bytes: number): Buffer {
  const letters = "etaoinshrdlucmfwypvbgkjqxz";
  const vocab: string[] = [];
  for (let i = 0; i < 1500; i++) {
    const len = 2 + Math.floor(Math.pow(rng.next(), 1.5) * 10);
    let w = "";
    // Skew towards frequent letters so the text has a realistic-ish entropy.
    for (let j = 0; j < len; j++) w += letters[Math.floor(Math.pow(rng.next(), 2) * letters.length)];
    vocab.push(w);
  }
  const keywords = ["function", "return", "const", "import", "export", "if", "else", "for", "while", "class", "{", "}", "(", ")", ";", "=", "=>", "//", "#", "-", "*"];
  const parts: string[] = [];
  let size = 0;
  let line = 0;
  while (size < bytes) {
    const kind = rng.next();
    let s: string;
    if (kind < 0.55) {
      // prose-like line with Zipf-ish word choice
      const n = rng.int(4, 18);
      const ws: string[] = [];
      for (let i = 0; i < n; i++) ws.push(vocab[Math.floor(Math.pow(rng.next(), 3) * vocab.length)]!);
      s = ws.join(" ") + (rng.next() < 0.7 ? "." : ",");
    } else if (kind < 0.85) {
      // code-like line
      const indent = " ".repeat(2 * rng.int(0, 4));
      const n = rng.int(2, 9);
      const ws: string[] = [];
      for (let i = 0; i < n; i++) ws.push(rng.next() < 0.35 ? rng.pick(keywords) : vocab[Math.floor(Math.pow(rng.next(), 3) * vocab.length)]!);
      s = indent + ws.join(" ");
    } else {
      // data-like line: numbers, ids, timestamps
      s = `${line},${rng.int(0, 99999)},${(rng.next() * 1000).toFixed(3)},2024-${String(rng.int(1, 12)).padStart(2, "0")}-${String(rng.int(1, 28)).padStart(2, "0")},${vocab[rng.int(0, 200)]}`;
    }
    s += "\n";
    line++;
    parts.push(s);
    size += Buffer.byteLength(s);
  }
  return Buffer.from(parts.join(""), "utf8").subarray(0, bytes);
}

/** Semi-compressible bytes: a mix of random, low-entropy and repetitive 4 KiB blocks. */
function fillSemi(rng: Prng, buf: Buffer): void {
  const block = 4 * KiB;
  for (let off = 0; off < buf.length; off += block) {
    const end = Math.min(buf.length, off + block);
    const sub = buf.subarray(off, end);
    const k = rng.next();
    if (k < 0.45) {
      rng.fill(sub);
    } else if (k < 0.8) {
      // low entropy: 4 bits per byte
      rng.fill(sub);
      for (let i = 0; i < sub.length; i++) sub[i] = sub[i]! & 0x0f;
    } else {
      // short repeating pattern with a unique counter (compresses well, never dedups)
      const pat = rng.bytes(rng.int(8, 64));
      for (let i = 0; i < sub.length; i++) sub[i] = pat[i % pat.length]!;
      sub.writeUInt32LE(rng.nextU32(), 0);
    }
  }
}

/** Database-like file: fixed-size records with text and numbers (compressible but not trivially). */
function fillRecords(rng: Prng, buf: Buffer, pool: Buffer): void {
  const rec = 256;
  for (let off = 0; off + rec <= buf.length; off += rec) {
    buf.writeUInt32LE(off / rec, off);
    buf.writeUInt32LE(rng.nextU32(), off + 4);
    buf.writeDoubleLE(rng.next() * 1e6, off + 8);
    const p = rng.int(0, pool.length - 200);
    pool.copy(buf, off + 16, p, p + 160);
    buf.fill(0, off + 176, off + rec);
    buf.writeUInt32LE(rng.nextU32() & 0xffff, off + 176 + rng.int(0, 19) * 4);
  }
  const tail = buf.length % rec;
  if (tail) buf.fill(0, buf.length - tail);
}

/** Disk-image-like file: runs of zeros, random data, text, in 1 MiB regions. */
function fillImageRegion(rng: Prng, buf: Buffer, pool: Buffer): void {
  const k = rng.next();
  if (k < 0.25) {
    buf.fill(0);
    // a few sparse bytes so regions differ (otherwise they would all dedup to one chunk)
    for (let i = 0; i < 8; i++) buf.writeUInt32LE(rng.nextU32(), rng.int(0, (buf.length >> 2) - 1) * 4);
  } else if (k < 0.6) {
    rng.fill(buf);
  } else if (k < 0.85) {
    for (let off = 0; off < buf.length; off += 4 * KiB) {
      const p = rng.int(0, pool.length - 4 * KiB);
      pool.copy(buf, off, p, p + Math.min(4 * KiB, buf.length - off));
    }
  } else {
    fillSemi(rng, buf);
  }
}

function mkdirp(p: string): void {
  fs.mkdirSync(p, { recursive: true });
}

export function manifestPath(work: string): string {
  return path.join(work, "corpus.json");
}

export function loadManifest(work: string, spec: CorpusSpec): CorpusManifest | null {
  try {
    const m = JSON.parse(fs.readFileSync(manifestPath(work), "utf8")) as CorpusManifest;
    if (m.version === CORPUS_VERSION && m.seed === spec.seed && m.scale === spec.scale && fs.existsSync(m.root)) return m;
  } catch {
    /* absent or unreadable: regenerate */
  }
  return null;
}

export function generateCorpus(work: string, spec: CorpusSpec, log: (s: string) => void): CorpusManifest {
  const started = process.hrtime.bigint();
  const root = path.join(work, "corpus");
  fs.rmSync(manifestPath(work), { force: true });
  fs.rmSync(root, { recursive: true, force: true });
  mkdirp(root);

  const { seed, scale } = spec;
  const parts: Record<string, { files: number; bytes: number }> = {};
  let files = 0;
  let bytes = 0;
  let symlinks = 0;
  const dirs = new Set<string>();
  const add = (part: string, rel: string, data: Uint8Array) => {
    const abs = path.join(root, rel);
    const dir = path.dirname(abs);
    if (!dirs.has(dir)) {
      mkdirp(dir);
      dirs.add(dir);
    }
    fs.writeFileSync(abs, data);
    const p = (parts[part] ??= { files: 0, bytes: 0 });
    p.files++;
    p.bytes += data.length;
    files++;
    bytes += data.length;
  };

  // ---- text-like small files -------------------------------------------------------------
  const poolRng = new Prng(seed, 1);
  const pool = buildTextPool(poolRng, 16 * MiB);
  const nText = Math.max(10, Math.round(20000 * scale));
  const textRng = new Prng(seed, 2);
  const textFiles: string[] = [];
  const perDir = 100;
  const exts = [".txt", ".md", ".ts", ".js", ".json", ".csv", ".html", ".py", ".c", ".log"];
  for (let i = 0; i < nText; i++) {
    const d = Math.floor(i / perDir);
    const project = `project-${String(Math.floor(d / 10)).padStart(3, "0")}`;
    const sub = d % 8 === 7 ? NON_ASCII_DIRS[(d >> 3) % NON_ASCII_DIRS.length]! : `module-${d % 10}`;
    const name =
      i % 23 === 5
        ? `${NON_ASCII_FILE_PREFIXES[i % NON_ASCII_FILE_PREFIXES.length]}-${i}${exts[i % exts.length]}`
        : `file-${String(i).padStart(6, "0")}${exts[i % exts.length]}`;
    const rel = path.join("docs", project, sub, name);
    const size = textRng.int(1 * KiB, 30 * KiB);
    const header = Buffer.from(`// ${rel} #${i} seed=${seed}\n`, "utf8");
    const off = textRng.int(0, pool.length - size);
    const data = Buffer.concat([header, pool.subarray(off, off + Math.max(0, size - header.length))]);
    add("text", rel, data);
    textFiles.push(rel);
  }
  log(`  text: ${parts.text!.files} files, ${(parts.text!.bytes / 1e6).toFixed(1)} MB`);

  // ---- mid-size binaries -----------------------------------------------------------------
  const nMid = Math.max(2, Math.round(40 * scale));
  const midRng = new Prng(seed, 3);
  const midFiles: string[] = [];
  for (let i = 0; i < nMid; i++) {
    const size = midRng.int(2 * MiB, 6 * MiB);
    const buf = Buffer.allocUnsafe(size);
    const r = new Prng(seed, 1000 + i);
    let rel: string;
    if (i % 2 === 0) {
      r.fill(buf);
      rel = path.join("media", `album-${Math.floor(i / 8)}`, `photo-${String(i).padStart(3, "0")}.jpg`);
    } else {
      fillSemi(r, buf);
      rel = path.join("bin", i % 6 === 1 ? "ツール" : "tools", `lib-${String(i).padStart(3, "0")}.so`);
    }
    add("binary", rel, buf);
    midFiles.push(rel);
  }
  log(`  binaries: ${parts.binary!.files} files, ${(parts.binary!.bytes / 1e6).toFixed(1)} MB`);

  // ---- large files -----------------------------------------------------------------------
  const largeSpecs: Array<{ rel: string; mib: number; kind: "image" | "random" | "records" }> = [
    { rel: "large/vm-disk.img", mib: 192, kind: "image" },
    { rel: "large/video-ø.mp4", mib: 128, kind: "random" },
    { rel: "large/database.sqlite", mib: 64, kind: "records" },
  ];
  let largeIdx = 0;
  for (const ls of largeSpecs) {
    const size = Math.max(1 * MiB, Math.round(ls.mib * scale * MiB));
    const r = new Prng(seed, 5000 + largeIdx++);
    const abs = path.join(root, ls.rel);
    mkdirp(path.dirname(abs));
    const fd = fs.openSync(abs, "w");
    const piece = Buffer.allocUnsafe(1 * MiB);
    try {
      for (let off = 0; off < size; off += piece.length) {
        const b = piece.subarray(0, Math.min(piece.length, size - off));
        if (ls.kind === "random") r.fill(b);
        else if (ls.kind === "records") fillRecords(r, b, pool);
        else fillImageRegion(r, b, pool);
        fs.writeSync(fd, b);
      }
    } finally {
      fs.closeSync(fd);
    }
    const p = (parts.large ??= { files: 0, bytes: 0 });
    p.files++;
    p.bytes += size;
    files++;
    bytes += size;
  }
  log(`  large: ${parts.large!.files} files, ${(parts.large!.bytes / 1e6).toFixed(1)} MB`);

  // ---- duplicates ------------------------------------------------------------------------
  const copy = (from: string, to: string) => add("duplicate", to, fs.readFileSync(path.join(root, from)));
  for (let i = 0; i < textFiles.length; i += 10) copy(textFiles[i]!, path.join("dups", "docs-copy", textFiles[i]!.split(path.sep).slice(1).join("_")));
  for (let i = 0; i < Math.min(3, midFiles.length); i++) {
    copy(midFiles[i]!, path.join("dups", "media-copy", path.basename(midFiles[i]!)));
    copy(midFiles[i]!, path.join("archive", "2023", "Übersicht", path.basename(midFiles[i]!)));
  }
  copy("large/database.sqlite", path.join("archive", "database-backup.sqlite"));
  log(`  duplicates: ${parts.duplicate!.files} files, ${(parts.duplicate!.bytes / 1e6).toFixed(1)} MB`);

  // ---- symlinks --------------------------------------------------------------------------
  const linksDir = path.join(root, "links");
  mkdirp(linksDir);
  for (let i = 0; i < Math.min(20, textFiles.length); i++) {
    const target = path.join("..", textFiles[(i * 97) % textFiles.length]!);
    fs.symlinkSync(target, path.join(linksDir, i % 5 === 0 ? `lien-vers-fichier-é-${i}` : `file-link-${i}`));
    symlinks++;
  }
  fs.symlinkSync(path.join("..", "docs", "project-000"), path.join(linksDir, "dir-link-project"));
  fs.symlinkSync(path.join("..", "media"), path.join(linksDir, "dir-link-media"));
  fs.symlinkSync(path.join("..", "..", "docs"), path.join(root, "dups", "up-link-docs"));
  fs.symlinkSync(path.join("..", midFiles[0]!), path.join(linksDir, "binary-link"));
  fs.symlinkSync("日本語フォルダ", path.join(linksDir, "ссылка-на-папку"));
  mkdirp(path.join(linksDir, "日本語フォルダ"));
  fs.writeFileSync(path.join(linksDir, "日本語フォルダ", "中身.txt"), "内容\n");
  files++;
  bytes += Buffer.byteLength("内容\n");
  symlinks += 5;

  // ---- edge cases: empty files and folders -----------------------------------------------
  mkdirp(path.join(root, "misc", "empty-dir"));
  mkdirp(path.join(root, "misc", "nested", "empty", "dir"));
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(path.join(root, "misc", `empty-${i}.dat`), "");
    files++;
  }

  let dirCount = 0;
  const countDirs = (p: string) => {
    dirCount++;
    for (const e of fs.readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) countDirs(path.join(p, e.name));
  };
  countDirs(root);

  const manifest: CorpusManifest = {
    version: CORPUS_VERSION,
    seed,
    scale,
    root,
    files,
    dirs: dirCount,
    symlinks,
    bytes,
    changeTarget: midFiles[Math.min(midFiles.length - 1, 5)]!,
    parts,
    generatedSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
  fs.writeFileSync(manifestPath(work), JSON.stringify(manifest, null, 2));
  return manifest;
}
