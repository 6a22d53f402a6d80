/**
 * The "one file changed" step: overwrites 64 KiB in the middle of one mid-size file (same
 * bytes for every tool), and puts the original back afterwards. The original is saved in the
 * work folder together with a record, so an interrupted run is repaired by the next one even
 * when the source is a folder of the user's (--source).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Prng } from "./prng.js";

interface Pending {
  path: string;
  saved: string;
  atimeMs: number;
  mtimeMs: number;
  size: number;
}

export class Mutator {
  private readonly recordFile: string;
  private readonly savedFile: string;

  constructor(work: string) {
    this.recordFile = path.join(work, "mutate-pending.json");
    this.savedFile = path.join(work, "mutate-original.bin");
  }

  /** Puts back a file left modified by an interrupted run. Returns its path if it did. */
  recover(): string | null {
    const p = this.pending();
    if (!p) return null;
    this.revert();
    this.finish();
    return p.path;
  }

  private pending(): Pending | null {
    try {
      return JSON.parse(fs.readFileSync(this.recordFile, "utf8")) as Pending;
    } catch {
      return null;
    }
  }

  /** Saves the original before the first modification. */
  prepare(file: string): void {
    if (this.pending()) return;
    const st = fs.statSync(file);
    fs.copyFileSync(file, this.savedFile);
    const rec: Pending = { path: file, saved: this.savedFile, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs, size: st.size };
    fs.writeFileSync(this.recordFile + ".tmp", JSON.stringify(rec));
    fs.renameSync(this.recordFile + ".tmp", this.recordFile);
  }

  /** Original content and times back (same inode: content is copied over, not replaced). */
  revert(): void {
    const p = this.pending();
    if (!p) return;
    fs.copyFileSync(p.saved, p.path);
    fs.utimesSync(p.path, p.atimeMs / 1000, p.mtimeMs / 1000);
  }

  /** Deterministic modification (same bytes at the same place on every call). */
  modify(seed: number): { offset: number; length: number } {
    const p = this.pending();
    if (!p) throw new Error("Mutator.modify before prepare");
    const length = Math.min(64 * 1024, p.size);
    const offset = Math.max(0, Math.floor((p.size - length) / 2 / 4096) * 4096);
    const data = new Prng(seed, 77).bytes(length);
    const fd = fs.openSync(p.path, "r+");
    try {
      fs.writeSync(fd, data, 0, length, offset);
    } finally {
      fs.closeSync(fd);
    }
    return { offset, length };
  }

  /** Reverts for good and forgets the record. */
  finish(): void {
    this.revert();
    fs.rmSync(this.recordFile, { force: true });
    fs.rmSync(this.savedFile, { force: true });
  }
}

export function sha256File(file: string): { size: number; hash: string } {
  const h = crypto.createHash("sha256");
  const data = fs.readFileSync(file);
  h.update(data);
  return { size: data.length, hash: h.digest("hex") };
}
