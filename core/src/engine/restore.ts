/**
 * Restore a snapshot (or chosen paths of it) into a target folder.
 *
 * Safety rules: nothing is ever written outside the target.
 * - Every name is checked: empty, ".", "..", names with "/" or NUL are refused (refused[]);
 *   so are duplicate names in one folder (a second entry could otherwise go "through" a link
 *   restored by the first).
 * - The walk only descends into folders it created or found as real folders (lstat, never a
 *   link); an existing link in the way is a conflict, never followed.
 * - Files and links are written to a fresh temporary name (O_CREAT|O_EXCL|O_NOFOLLOW) in the
 *   destination folder and renamed into place; rename replaces a link, never writes through it.
 * Every byte is verified: each chunk is decrypted (authenticated) and its keyed hash compared
 * with its id before it is written.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import * as path from 'node:path';
import type { RunError } from '../api/records.js';
import { UsageError } from '../errors.js';
import { acquireLock } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import type { TreeNode } from '../repository/tree.js';
import type { BackupProgress } from './backup.js';
import { findNode, splitSnapshotPath } from './browse.js';
import { resolveSnapshot } from './snapshots.js';

export interface RestoreOptions {
  snapshot: string;
  taskId?: string;
  paths?: string[];
  target: string;
  conflict: 'overwrite' | 'skip' | 'rename';
  onProgress?: (p: BackupProgress) => void;
}

export interface RestoreResult {
  snapshotId: string;
  files: number;
  dirs: number;
  bytes: number;
  skipped: number;
  renamed: number;
  refused: RunError[];
  errors: RunError[];
}

export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

function lstatOrNull(p: string): Stats | null {
  return lstatSync(p, { throwIfNoEntry: false }) ?? null;
}

function tempName(dir: string): string {
  return path.join(dir, `.haven-restore-${randomBytes(8).toString('hex')}.tmp`);
}

function uniqueName(dir: string, name: string): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  for (let n = 1; ; n++) {
    const candidate = `${stem} (restored ${n})${ext}`;
    if (!lstatOrNull(path.join(dir, candidate))) return candidate;
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

export async function runRestore(repo: Repository, opts: RestoreOptions): Promise<RestoreResult> {
  if (!['overwrite', 'skip', 'rename'].includes(opts.conflict)) throw new UsageError(`unknown conflict policy "${opts.conflict}"`);
  if (!opts.target) throw new UsageError('no restore target given');
  const lock = await acquireLock(repo, { exclusive: false, purpose: 'restore' });
  try {
    const { id, snap } = await resolveSnapshot(repo, opts.snapshot, opts.taskId);
    const r = new Restorer(repo, opts);
    r.result.snapshotId = id;
    mkdirSync(path.resolve(opts.target), { recursive: true });
    const target = realpathSync(path.resolve(opts.target));
    if (!lstatSync(target).isDirectory()) throw new UsageError(`restore target ${target} is not a folder`);
    const rootSeen = new Set<string>();
    if (opts.paths && opts.paths.length) {
      for (const p of opts.paths) {
        const parts = splitSnapshotPath(p);
        const { node, tree } = await findNode(repo, snap.tree, parts);
        const parentLogical = parts.length ? `/${parts.slice(0, -1).join('/')}` : '';
        if (node === null) {
          for (const n of tree!.nodes) await r.restoreNode(n, target, rootSeen, '');
        } else {
          await r.restoreNode(node, target, rootSeen, parentLogical === '/' ? '' : parentLogical);
        }
      }
    } else {
      const root = await repo.loadTree(snap.tree);
      for (const n of root.nodes) await r.restoreNode(n, target, rootSeen, '');
    }
    r.progress(true);
    return r.result;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

class Restorer {
  readonly result: RestoreResult = { snapshotId: '', files: 0, dirs: 0, bytes: 0, skipped: 0, renamed: 0, refused: [], errors: [] };
  private lastProgress = 0;
  private readonly root = isRoot();

  constructor(
    private readonly repo: Repository,
    private readonly opts: RestoreOptions,
  ) {}

  progress(final: boolean): void {
    const cb = this.opts.onProgress;
    if (!cb) return;
    const now = Date.now();
    if (!final && now - this.lastProgress < 200) return;
    this.lastProgress = now;
    try {
      cb({ filesDone: this.result.files, bytesDone: this.result.bytes });
    } catch {
      // ignore
    }
  }

  /**
   * Restores `node` into `dir`, a real folder inside the target (created by us or checked
   * with lstat). `logicalParent` is the node's parent path inside the snapshot.
   */
  async restoreNode(node: TreeNode, dir: string, seen: Set<string>, logicalParent: string): Promise<void> {
    const name = node.name;
    const logical = `${logicalParent}/${typeof name === 'string' ? name : String(name)}`;
    if (!isSafeName(name)) {
      this.result.refused.push({ path: logical, message: 'unsafe name (would leave the restore target); refused' });
      return;
    }
    if (seen.has(name)) {
      this.result.refused.push({ path: logical, message: 'a second entry with the same name in one folder; refused' });
      return;
    }
    seen.add(name);
    if (node.type !== 'file' && node.type !== 'dir' && node.type !== 'symlink') {
      this.result.refused.push({ path: logical, message: `unknown entry type "${String(node.type)}"; refused` });
      return;
    }
    try {
      let destName = name;
      let existing = lstatOrNull(path.join(dir, destName));
      if (existing) {
        const merge = node.type === 'dir' && existing.isDirectory();
        if (!merge) {
          if (this.opts.conflict === 'skip') {
            this.result.skipped++;
            return;
          }
          if (this.opts.conflict === 'rename') {
            destName = uniqueName(dir, name);
            existing = null;
            this.result.renamed++;
          } else if (existing.isDirectory()) {
            // overwrite, but a folder is where a file or link should go: never delete a tree.
            this.result.errors.push({ path: logical, message: 'a folder is in the way; not overwritten' });
            return;
          }
        }
      }
      const dest = path.join(dir, destName);
      if (node.type === 'dir') await this.restoreDir(node, dest, existing, logical);
      else if (node.type === 'file') await this.restoreFile(node, dir, dest, logical);
      else this.restoreLink(node, dir, dest);
    } catch (err) {
      this.result.errors.push({ path: logical, message: (err as Error).message });
    }
  }

  private async restoreDir(node: TreeNode, dest: string, existing: Stats | null, logical: string): Promise<void> {
    if (existing && !existing.isDirectory()) {
      // overwrite: a file or a link is in the way of a folder; remove it (never follow it).
      unlinkSync(dest);
      existing = null;
    }
    if (!existing) mkdirSync(dest, { mode: 0o700 });
    const st = lstatSync(dest);
    if (!st.isDirectory()) throw new Error('destination is not a folder');
    this.result.dirs++;
    if (node.subtree) {
      const tree = await this.repo.loadTree(node.subtree);
      const seen = new Set<string>();
      for (const child of tree.nodes) await this.restoreNode(child, dest, seen, logical);
    }
    if (this.root) chownSync(dest, node.uid, node.gid);
    chmodSync(dest, node.mode & 0o7777);
    utimesSync(dest, node.mtime / 1000, node.mtime / 1000);
  }

  private async restoreFile(node: TreeNode, dir: string, dest: string, logical: string): Promise<void> {
    const tmp = tempName(dir);
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let ok = false;
    try {
      let total = 0;
      for (const id of node.content ?? []) {
        let data: Buffer;
        try {
          data = await this.repo.readBlob(id);
        } catch (err) {
          throw new Error(`content could not be restored: ${(err as Error).message}`);
        }
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
        total += data.length;
      }
      if (total !== node.size) throw new Error(`restored ${total} bytes, the snapshot says ${node.size}`);
      if (this.root) fchownSync(fd, node.uid, node.gid);
      fchmodSync(fd, node.mode & 0o7777);
      futimesSync(fd, node.mtime / 1000, node.mtime / 1000);
      closeSync(fd);
      ok = true;
      renameSync(tmp, dest);
      this.result.files++;
      this.result.bytes += total;
      this.progress(false);
    } catch (err) {
      if (!ok) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
      throw err;
    }
    void logical;
  }

  private restoreLink(node: TreeNode, dir: string, dest: string): void {
    if (typeof node.target !== 'string' || node.target.includes('\0')) throw new Error('symlink without a valid target');
    const tmp = tempName(dir);
    symlinkSync(node.target, tmp);
    try {
      if (this.root) lchownSync(tmp, node.uid, node.gid);
      lutimesSync(tmp, node.mtime / 1000, node.mtime / 1000);
      renameSync(tmp, dest);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // ignore
      }
      throw err;
    }
  }
}
