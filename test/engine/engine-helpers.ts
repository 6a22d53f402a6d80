/** Shared helpers of the engine tests: temp folders, fixture trees, tree comparison. */
import { createHash, randomFillSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
  chmodSync,
  rmSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localStore } from '../helpers/local-store.js';
import { initRepository, type Repository } from '#core/engine/index.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `haven-engine-${prefix}-`));
}

export interface ScratchRepository {
  work: string;
  repoDir: string;
  repo: Repository;
}

/**
 * Gives a suite a fresh temp folder with a new repository in it (before), and closes and
 * removes both afterwards (after). `use` receives them once they exist.
 */
export function useScratchRepository(prefix: string, password: string | null, use: (scratch: ScratchRepository) => void): void {
  let scratch: ScratchRepository | undefined;
  before(async function () {
    const work = tmp(prefix);
    const repoDir = path.join(work, 'repo');
    scratch = { work, repoDir, repo: await initRepository(localStore(repoDir), { password }) };
    use(scratch);
  });
  after(async function () {
    await scratch?.repo.close();
    if (scratch) rmSync(scratch.work, { recursive: true, force: true });
  });
}

export const META = (taskId = 'task-1', runId = 'run-1') => ({ taskId, task: `task ${taskId}`, runId, host: os.hostname(), user: 'tester' });

/** Writes `size` bytes of random data. */
export function writeRandomFile(file: string, size: number, seedFill = true): void {
  const fd = openSync(file, 'w');
  const buf = Buffer.allocUnsafe(Math.min(size, 4 << 20));
  let left = size;
  while (left > 0) {
    const n = Math.min(left, buf.length);
    if (seedFill) randomFillSync(buf, 0, n);
    writeSync(fd, buf, 0, n);
    left -= n;
  }
  closeSync(fd);
}

/**
 * Adds the awkward cases to `dir`: links to a file and to a folder, a link loop, non-ASCII
 * names, empty file and folder, a FIFO, odd modes and old mtimes.
 */
export function addEdgeCases(dir: string): { fifo: boolean } {
  const e = path.join(dir, 'edge');
  mkdirSync(path.join(e, 'real-folder', 'inner'), { recursive: true });
  writeFileSync(path.join(e, 'real-folder', 'inner', 'deep.txt'), 'deep content\n');
  writeFileSync(path.join(e, 'résumé – 日本.txt'), 'non-ascii name ✓\n');
  mkdirSync(path.join(e, 'dossier été'));
  writeFileSync(path.join(e, 'dossier été', 'ça.txt'), 'ça va\n');
  writeFileSync(path.join(e, 'empty-file'), '');
  mkdirSync(path.join(e, 'empty-dir'));
  writeFileSync(path.join(e, 'target-file.txt'), 'the target of a link\n');
  symlinkSync('target-file.txt', path.join(e, 'link-to-file'));
  symlinkSync('real-folder', path.join(e, 'link-to-folder'));
  symlinkSync('..', path.join(e, 'real-folder', 'loop-to-parent'));
  symlinkSync('/nonexistent/haven/dangling', path.join(e, 'dangling-link'));
  writeFileSync(path.join(e, 'mode-640.txt'), 'private-ish\n');
  chmodSync(path.join(e, 'mode-640.txt'), 0o640);
  writeFileSync(path.join(e, 'exec.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(e, 'exec.sh'), 0o755);
  const old = new Date('2001-02-03T04:05:06.789Z');
  utimesSync(path.join(e, 'mode-640.txt'), old, old);
  mkdirSync(path.join(e, 'locked-dir'));
  writeFileSync(path.join(e, 'locked-dir', 'inside.txt'), 'x');
  chmodSync(path.join(e, 'locked-dir'), 0o550);
  let fifo = false;
  try {
    execFileSync('mkfifo', [path.join(e, 'a-fifo')]);
    fifo = true;
  } catch {
    fifo = false;
  }
  return { fifo };
}

function fileHash(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

/**
 * Compares a source tree with its restored copy the way Haven backs it up: links to folders
 * are followed (unless they loop), other links must be links with the same target, files must
 * have equal content, mode and mtime (ms), folders equal mode and mtime. Special files are
 * expected to be absent. Returns a list of differences (empty when identical).
 */
export function compareTrees(src: string, dst: string): string[] {
  const diffs: string[] = [];
  const walk = (s: string, d: string, ancestors: Set<string>): void => {
    const names = readdirSync(s).sort();
    const dnames = new Set(readdirSync(d));
    for (const name of names) {
      const sp = path.join(s, name);
      const dp = path.join(d, name);
      let st = lstatSync(sp);
      let asDir = st.isDirectory();
      if (st.isSymbolicLink()) {
        let t: ReturnType<typeof statSync> | null = null;
        try {
          t = statSync(sp);
        } catch {
          t = null;
        }
        if (t && t.isDirectory() && !ancestors.has(`${t.dev}:${t.ino}`)) {
          st = t;
          asDir = true;
        } else {
          if (!dnames.has(name)) {
            diffs.push(`missing link ${dp}`);
            continue;
          }
          const ds = lstatSync(dp);
          if (!ds.isSymbolicLink()) diffs.push(`${dp} should be a link`);
          else if (readlinkSync(dp) !== readlinkSync(sp)) diffs.push(`${dp} link target differs`);
          dnames.delete(name);
          continue;
        }
      }
      if (!asDir && !st.isFile()) continue; // special files are not restored
      if (!dnames.has(name)) {
        diffs.push(`missing ${dp}`);
        continue;
      }
      dnames.delete(name);
      const ds = lstatSync(dp);
      if ((ds.mode & 0o7777) !== (st.mode & 0o7777)) diffs.push(`${dp} mode ${(ds.mode & 0o7777).toString(8)} != ${(st.mode & 0o7777).toString(8)}`);
      if (asDir) {
        if (!ds.isDirectory()) {
          diffs.push(`${dp} should be a folder`);
          continue;
        }
        const key = `${st.dev}:${st.ino}`;
        ancestors.add(key);
        walk(sp, dp, ancestors);
        ancestors.delete(key);
      } else {
        if (!ds.isFile()) {
          diffs.push(`${dp} should be a file`);
          continue;
        }
        if (ds.size !== st.size || fileHash(sp) !== fileHash(dp)) diffs.push(`${dp} content differs`);
      }
      if (Math.floor(ds.mtimeMs) !== Math.floor(st.mtimeMs)) diffs.push(`${dp} mtime ${ds.mtimeMs} != ${st.mtimeMs}`);
    }
    for (const extra of dnames) diffs.push(`unexpected ${path.join(d, extra)}`);
  };
  const rootSt = statSync(src);
  walk(src, dst, new Set([`${rootSt.dev}:${rootSt.ino}`]));
  return diffs;
}

/** Every file below `dir` (no link following), relative paths. */
export function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (lstatSync(p).isDirectory()) walk(p, r);
    }
  };
  walk(dir, '');
  return out.sort();
}
