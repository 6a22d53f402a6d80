/** Helpers of the prune tests: what a folder holds, by content and by store bytes. */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { listAll } from './engine-helpers.js';

/** Every entry below `dir`: relative path → SHA-256 of a file's content, or "dir". */
export function manifest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of listAll(dir)) {
    const p = path.join(dir, rel);
    out[rel] = lstatSync(p).isDirectory() ? 'dir' : createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

/** Total size of the files below `dir`. */
export function storeBytes(dir: string): number {
  let total = 0;
  for (const rel of listAll(dir)) {
    const st = lstatSync(path.join(dir, rel));
    if (st.isFile()) total += st.size;
  }
  return total;
}

/** Every file below `dir` with its size and mtime: equal states mean nothing was written or deleted. */
export function storeState(dir: string): string[] {
  return listAll(dir)
    .map((rel) => ({ rel, st: lstatSync(path.join(dir, rel)) }))
    .filter(({ st }) => st.isFile())
    .map(({ rel, st }) => `${rel} ${st.size} ${st.mtimeMs}`);
}
