/**
 * Memory check: back up one big file (4 GiB by default) with haven and report peak RSS.
 * The file is real data, not sparse: a 64 MiB random block written again and again, with a
 * counter stamped every 4 KiB so no chunk deduplicates against another.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Prng } from "./prng.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BLOCK = 64 * MiB;
const STAMP_EVERY = 4096;

export function ensureLargeFile(
  dir: string,
  gib: number,
  seed: number,
  log: (s: string) => void,
): { file: string; source: string; bytes: number; seconds: number; reused: boolean } {
  // The data folder holds only the big file: it is the backup source.
  fs.mkdirSync(path.join(dir, "data"), { recursive: true });
  const bytes = Math.round(gib * GiB);
  const file = path.join(dir, "data", `big-${gib}GiB.bin`);
  const marker = path.join(dir, `big-${gib}GiB.json`);
  try {
    const m = JSON.parse(fs.readFileSync(marker, "utf8")) as { bytes: number; seed: number };
    const st = fs.statSync(file);
    // blocks*512 >= size: really allocated, not sparse
    if (m.bytes === bytes && m.seed === seed && st.size === bytes && st.blocks * 512 >= bytes) return { file, source: path.dirname(file), bytes, seconds: 0, reused: true };
  } catch {
    /* (re)generate */
  }
  fs.rmSync(marker, { force: true });
  log(`  writing ${(bytes / GiB).toFixed(2)} GiB to ${file} …`);
  const started = process.hrtime.bigint();
  const block = new Prng(seed, 9000).bytes(BLOCK);
  const fd = fs.openSync(file, "w");
  try {
    let iter = 0;
    for (let off = 0; off < bytes; off += BLOCK, iter++) {
      for (let k = 0; k < BLOCK; k += STAMP_EVERY) {
        block.writeUInt32LE(iter, k);
        block.writeUInt32LE(k, k + 4);
        block.writeUInt32LE(seed >>> 0, k + 8);
      }
      const n = Math.min(BLOCK, bytes - off);
      let done = 0;
      while (done < n) done += fs.writeSync(fd, block, done, n - done);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(marker, JSON.stringify({ bytes, seed }));
  return { file, source: path.dirname(file), bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, reused: false };
}
