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
 * - Names that are not valid UTF-8 (TreeNode.nameBytes) are created from their raw bytes, and
 *   the same checks apply to those bytes; paths below such a name are Buffers.
 * - Hard links (TreeNode.hardlink): the first member of a group that this restore writes is
 *   written as usual; later members are linked to it (link to a temporary name, rename into
 *   place) once every file is written, if it is still the file written; otherwise their
 *   content is written.
 * Every byte is verified: each chunk is decrypted (authenticated) and its keyed hash compared
 * with its id before it is written.
 *
 * Speed: the main thread walks the trees (names, conflicts, folders, links) and gathers files
 * into batches of ~4 MiB; for each batch it reads the packs' byte ranges the batch needs (blobs
 * grouped by pack, neighbouring blobs read in one range) and hands ranges and files to worker
 * threads (restore-worker.ts), which verify and write synchronously. Files larger than a batch
 * are opened (temporary name) by the main thread and written in pieces, by positional writes,
 * by any worker. Folder metadata (mode, times, owner) is applied once every file is written.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import * as path from 'node:path';
import type { RunError } from '@haven/plugin-api';
import { UsageError } from '../errors.js';
import { lockForReading } from '../repository/locks.js';
import { indexUnlistedPacksInMemory } from '../repository/index-maintenance.js';
import { mapLimit } from '../repository/repository.js';
import type { Repository } from '../repository/repository.js';
import { packBlobName } from '../repository/pack.js';
import type { TreeNode } from '../repository/tree.js';
import type { BackupProgress } from './backup.js';
import { findNode, splitSnapshotPath } from './browse.js';
import { resolveSnapshot } from './snapshots.js';
import { utimeSeconds, type RBlob, type RestoreBatch, type RestoreBatchDone, type RestoreItemResult, type RestoreWorkerInit, type RFile, type RPiece } from './worker-protocol.js';

export interface RestoreOptions {
  snapshot: string;
  taskId?: string;
  paths?: string[];
  target: string;
  conflict: 'overwrite' | 'skip' | 'rename';
  onProgress?: (p: BackupProgress) => void;
  /** Worker threads (default: available cores, at most 4). */
  workers?: number;
  /** Read without taking a repository lock (restic's --no-lock). */
  noLock?: boolean;
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
  /** Set when the restore read without a lock, and why. */
  lockFree?: string;
}

export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** The same rules on raw name bytes: not empty, not "." or "..", no "/" and no NUL. */
export function isSafeNameBytes(b: Uint8Array): boolean {
  if (b.length === 0) return false;
  if (b[0] === 0x2e && (b.length === 1 || (b.length === 2 && b[1] === 0x2e))) return false;
  return !b.includes(0x2f) && !b.includes(0);
}

/**
 * A path on disk: a string, or a Buffer when some component is not valid UTF-8. A location is
 * always represented the same way (names that are valid UTF-8 are strings), so `pathKey` is
 * unique per location.
 */
type FsPath = string | Buffer;

function pathKey(p: FsPath): string {
  return typeof p === 'string' ? p : `\0${p.toString('base64')}`;
}

function joinPath(dir: FsPath, name: FsPath): FsPath {
  if (typeof dir === 'string' && typeof name === 'string') return path.join(dir, name);
  const d = typeof dir === 'string' ? Buffer.from(dir) : dir;
  const n = typeof name === 'string' ? Buffer.from(name) : name;
  const sep = d.length > 0 && d[d.length - 1] === 0x2f ? 0 : 1;
  // Not pooled: the path owns its memory, so posting it to a worker copies only the path.
  const out = Buffer.allocUnsafeSlow(d.length + sep + n.length);
  d.copy(out, 0);
  if (sep) out[d.length] = 0x2f;
  n.copy(out, d.length + sep);
  return out;
}

/** Decodes a base64 field strictly (canonical form only); null when it is not. */
function strictBase64(v: unknown): Buffer | null {
  if (typeof v !== 'string') return null;
  const b = Buffer.from(v, 'base64');
  return b.toString('base64') === v ? b : null;
}

/**
 * The name to create on disk for `node`: its `name`, or its raw `nameBytes` (a string when
 * those are valid UTF-8 after all); null when the name is unsafe or malformed.
 */
function diskName(node: TreeNode): FsPath | null {
  if (node.nameBytes === undefined) return isSafeName(node.name) ? node.name : null;
  const b = strictBase64(node.nameBytes);
  if (!b || !isSafeNameBytes(b)) return null;
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : b;
}

function lstatOrNull(p: FsPath): Stats | null {
  return lstatSync(p, { throwIfNoEntry: false }) ?? null;
}

function tempName(dir: FsPath): FsPath {
  return joinPath(dir, `.haven-restore-${randomBytes(8).toString('hex')}.tmp`);
}

function uniqueName(dir: FsPath, name: FsPath, claimed: Set<string>): FsPath {
  for (let n = 1; ; n++) {
    let candidate: FsPath;
    if (typeof name === 'string') {
      const dot = name.lastIndexOf('.');
      const stem = dot > 0 ? name.slice(0, dot) : name;
      const ext = dot > 0 ? name.slice(dot) : '';
      candidate = `${stem} (restored ${n})${ext}`;
    } else {
      const dot = name.lastIndexOf(0x2e);
      const stem = dot > 0 ? name.subarray(0, dot) : name;
      const ext = dot > 0 ? name.subarray(dot) : Buffer.alloc(0);
      candidate = Buffer.concat([stem, Buffer.from(` (restored ${n})`), ext]);
    }
    const full = joinPath(dir, candidate);
    if (!claimed.has(pathKey(full)) && !lstatOrNull(full)) return candidate;
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

export async function runRestore(repo: Repository, opts: RestoreOptions): Promise<RestoreResult> {
  if (!['overwrite', 'skip', 'rename'].includes(opts.conflict)) throw new UsageError(`unknown conflict policy "${opts.conflict}"`);
  if (!opts.target) throw new UsageError('no restore target given');
  const lock = await lockForReading(repo, 'restore', { noLock: opts.noLock });
  try {
    // A damaged index blob must not block a restore when the packs are intact.
    await indexUnlistedPacksInMemory(repo);
    const { id, snap } = await resolveSnapshot(repo, opts.snapshot, opts.taskId);
    const r = new Restorer(repo, opts);
    r.result.snapshotId = id;
    try {
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
      await r.finish();
    } finally {
      await r.stop();
    }
    r.progress(true);
    if (lock.lockFree) r.result.lockFree = lock.lockFree;
    return r.result;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** Restored bytes per batch (plaintext). */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_FILES = 1024;
/** Neighbouring blobs of one pack closer than this are read in one range. */
const RANGE_GAP = 256 * 1024;
const RANGE_MAX = 16 * 1024 * 1024;
/** Batches queued per worker. */
const PER_WORKER = 2;

interface BlobReq extends RBlob {
  pack: string;
}

interface BatchBuild {
  blobs: BlobReq[];
  byId: Map<string, number>;
  items: Array<RFile | RPiece>;
  bytes: number;
}

interface PendingFile {
  logical: string;
  dest: FsPath;
  /** Hard-link group this file is the first restored member of. */
  group?: LinkGroup;
}

/** The first restored member of a hard-link group; later members are linked to it. */
interface LinkGroup {
  dest: FsPath;
  /** Content ids and size: members are linked only when they match. */
  sig: string;
  state: 'pending' | 'ok' | 'failed';
  /** Inode of the written file (checked again before linking). */
  ino?: number;
}

/** A later member of a hard-link group, linked once every file is written. */
interface DeferredLink {
  node: TreeNode;
  dir: FsPath;
  dest: FsPath;
  logical: string;
  group: LinkGroup;
}

interface LargeFile {
  logical: string;
  node: TreeNode;
  fd: number;
  tmp: FsPath;
  dest: FsPath;
  group?: LinkGroup;
  pieces: number;
  /** All pieces handed out (`pieces` is final). */
  all: boolean;
  done: number;
  bytes: number;
  err?: string;
}

interface Slot {
  w: Worker;
  inflight: number;
}

class Restorer {
  readonly result: RestoreResult = { snapshotId: '', files: 0, dirs: 0, bytes: 0, skipped: 0, renamed: 0, refused: [], errors: [] };
  private lastProgress = 0;
  private readonly root = isRoot();
  /** Files handed to workers and not yet in place (full destination paths). */
  private readonly claimed = new Set<string>();
  private readonly pending = new Map<number, PendingFile>();
  private readonly large = new Map<number, LargeFile>();
  /** Folder metadata, applied (children first) once all files are written. */
  private readonly dirFinals: Array<{ node: TreeNode; dest: FsPath; logical: string }> = [];
  /** Hard-link groups (TreeNode.hardlink) by id, and the members waiting to be linked. */
  private readonly linkGroups = new Map<string, LinkGroup>();
  private deferredLinks: DeferredLink[] = [];
  private cur: BatchBuild = newBatch();
  private nextN = 1;
  private nextBatch = 1;
  private slots: Slot[] = [];
  private slotWaiters: Array<() => void> = [];
  private failure: Error | null = null;

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
  async restoreNode(node: TreeNode, dir: FsPath, seen: Set<string>, logicalParent: string): Promise<void> {
    this.check();
    const logical = `${logicalParent}/${typeof node.name === 'string' ? node.name : String(node.name)}`;
    const name = diskName(node);
    if (name === null) {
      this.result.refused.push({ path: logical, message: 'unsafe name (would leave the restore target); refused' });
      return;
    }
    const key = pathKey(name);
    if (seen.has(key)) {
      this.result.refused.push({ path: logical, message: 'a second entry with the same name in one folder; refused' });
      return;
    }
    seen.add(key);
    if (node.type !== 'file' && node.type !== 'dir' && node.type !== 'symlink') {
      this.result.refused.push({ path: logical, message: `unknown entry type "${String(node.type)}"; refused` });
      return;
    }
    try {
      let destName = name;
      let existing = lstatOrNull(joinPath(dir, destName));
      // A file this restore is still writing counts as present (it will be, before the end).
      const claimed = !existing && this.claimed.has(pathKey(joinPath(dir, destName)));
      if (existing || claimed) {
        const merge = node.type === 'dir' && !!existing && existing.isDirectory();
        if (!merge) {
          if (this.opts.conflict === 'skip') {
            this.result.skipped++;
            return;
          }
          if (this.opts.conflict === 'rename') {
            destName = uniqueName(dir, name, this.claimed);
            existing = null;
            this.result.renamed++;
          } else if (claimed) {
            this.result.errors.push({ path: logical, message: 'a file restored by this run is in the way; not overwritten' });
            return;
          } else if (existing!.isDirectory()) {
            // overwrite, but a folder is where a file or link should go: never delete a tree.
            this.result.errors.push({ path: logical, message: 'a folder is in the way; not overwritten' });
            return;
          }
        }
      }
      const dest = joinPath(dir, destName);
      if (node.type === 'dir') await this.restoreDir(node, dest, existing, logical);
      else if (node.type === 'file') await this.restoreFile(node, dir, dest, logical);
      else this.restoreLink(node, dir, dest);
    } catch (err) {
      if (this.failure) throw this.failure;
      this.result.errors.push({ path: logical, message: (err as Error).message });
    }
  }

  private async restoreDir(node: TreeNode, dest: FsPath, existing: Stats | null, logical: string): Promise<void> {
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
    this.dirFinals.push({ node, dest, logical });
  }

  private finishDir(node: TreeNode, dest: FsPath): void {
    if (this.root) chownSync(dest, node.uid, node.gid);
    chmodSync(dest, node.mode & 0o7777);
    utimesSync(dest, utimeSeconds(node.mtime), utimeSeconds(node.mtime));
  }

  // ---- files: batches for the workers ------------------------------------------------------

  /** Index of blob `id` in the batch being built (added when new). */
  private need(b: BatchBuild, id: string): number {
    let i = b.byId.get(id);
    if (i !== undefined) return i;
    const e = this.repo.index.get(id);
    const req: BlobReq = e
      ? { id, pack: e.pack, p: 0, r: -1, off: e.offset, len: e.length, raw: e.rawLength }
      : { id, pack: '', p: 0, r: -1, off: 0, len: 0, raw: 0, err: `blob ${id} is not in the index` };
    i = b.blobs.push(req) - 1;
    b.byId.set(id, i);
    if (e) b.bytes += Math.max(e.rawLength, e.length);
    return i;
  }

  private async restoreFile(node: TreeNode, dir: FsPath, dest: FsPath, logical: string, linkable = true): Promise<void> {
    const content = node.content ?? [];
    let group: LinkGroup | undefined;
    if (linkable && typeof node.hardlink === 'string' && node.hardlink !== '') {
      const sig = `${node.size}:${Array.isArray(content) ? content.join(',') : ''}`;
      const first = this.linkGroups.get(node.hardlink);
      if (!first) {
        group = { dest, sig, state: 'pending' };
        this.linkGroups.set(node.hardlink, group);
      } else if (first.sig === sig && first.state !== 'failed') {
        // Linked to the first member once every file is written (or written if that fails).
        this.deferredLinks.push({ node, dir, dest, logical, group: first });
        this.claimed.add(pathKey(dest));
        return;
      }
    }
    let size = 0;
    for (const id of content) size += this.repo.index.get(id)?.rawLength ?? 0;
    if (size > BATCH_BYTES) {
      await this.restoreLarge(node, dir, dest, logical, content, group);
      return;
    }
    if (this.cur.bytes + size > BATCH_BYTES || this.cur.items.length >= BATCH_FILES) await this.flush();
    const b = this.cur;
    const n = this.nextN++;
    const ids = content.map((id) => this.need(b, id));
    b.items.push({ k: 'f', n, dir, dest, ids, size: node.size, mode: node.mode, uid: node.uid, gid: node.gid, mtime: node.mtime });
    this.pending.set(n, { logical, dest, group });
    this.claimed.add(pathKey(dest));
  }

  /** A file larger than a batch: opened here, written in pieces by the workers, finished here. */
  private async restoreLarge(node: TreeNode, dir: FsPath, dest: FsPath, logical: string, content: string[], group?: LinkGroup): Promise<void> {
    await this.flush();
    const tmp = tempName(dir);
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    const n = this.nextN++;
    const lf: LargeFile = { logical, node, fd, tmp, dest, group, pieces: 0, all: false, done: 0, bytes: 0 };
    this.large.set(n, lf);
    this.claimed.add(pathKey(dest));
    let pos = 0;
    let k = 0;
    while (k < content.length) {
      const b = this.cur;
      const ids: number[] = [];
      const start = pos;
      while (k < content.length && (ids.length === 0 || b.bytes < BATCH_BYTES)) {
        ids.push(this.need(b, content[k]));
        pos += this.repo.index.get(content[k])?.rawLength ?? 0;
        k++;
      }
      b.items.push({ k: 'p', n, fd, pos: start, ids });
      lf.pieces++;
      await this.flush();
    }
    lf.all = true;
    if (lf.done === lf.pieces) this.finishLarge(n, lf);
  }

  private finishLarge(n: number, lf: LargeFile): void {
    this.large.delete(n);
    this.claimed.delete(pathKey(lf.dest));
    const node = lf.node;
    let ok = false;
    try {
      if (lf.err !== undefined) throw new Error(lf.err);
      if (lf.bytes !== node.size) throw new Error(`restored ${lf.bytes} bytes, the snapshot says ${node.size}`);
      if (this.root) fchownSync(lf.fd, node.uid, node.gid);
      fchmodSync(lf.fd, node.mode & 0o7777);
      futimesSync(lf.fd, utimeSeconds(node.mtime), utimeSeconds(node.mtime));
      closeSync(lf.fd);
      ok = true;
      renameSync(lf.tmp, lf.dest);
      this.result.files++;
      this.result.bytes += lf.bytes;
      if (lf.group) this.groupWritten(lf.group);
    } catch (err) {
      if (lf.group) lf.group.state = 'failed';
      if (!ok) closeSync(lf.fd);
      try {
        unlinkSync(lf.tmp);
      } catch {
        // already gone
      }
      this.result.errors.push({ path: lf.logical, message: (err as Error).message });
    }
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  /** Reads the ranges the current batch needs and hands it to a worker (waits for room). */
  private async flush(): Promise<void> {
    this.check();
    const b = this.cur;
    if (b.items.length === 0) return;
    this.cur = newBatch();
    // Group by pack, sort by offset, merge neighbours into ranges.
    const byPack = new Map<string, number[]>();
    b.blobs.forEach((r, i) => {
      if (r.err !== undefined) return;
      let l = byPack.get(r.pack);
      if (!l) byPack.set(r.pack, (l = []));
      l.push(i);
    });
    const packs: string[] = [];
    const ranges: Array<{ pack: string; offset: number; end: number; blobs: number[] }> = [];
    for (const [pack, list] of byPack) {
      const p = packs.push(pack) - 1;
      list.sort((x, y) => b.blobs[x].off - b.blobs[y].off);
      let r: (typeof ranges)[number] | null = null;
      for (const i of list) {
        const e = b.blobs[i];
        e.p = p;
        const end = e.off + e.len;
        if (!r || e.off > r.end + RANGE_GAP || end - r.offset > RANGE_MAX) {
          r = { pack, offset: e.off, end, blobs: [] };
          ranges.push(r);
        }
        if (end > r.end) r.end = end;
        r.blobs.push(i);
      }
    }
    const bufs: Uint8Array[] = new Array(ranges.length);
    await mapLimit(ranges, 4, async (r, ri) => {
      let data: Buffer | null = null;
      let err: string | undefined;
      try {
        data = await this.repo.store.get(packBlobName(r.pack), { offset: r.offset, length: r.end - r.offset });
        if (data.length < r.end - r.offset) err = `pack ${r.pack} is shorter than the index says`;
      } catch (e) {
        err = (e as NodeJS.ErrnoException)?.code === 'ENOENT' ? `pack ${r.pack} is missing` : (e as Error).message;
      }
      if (err !== undefined || !data) {
        for (const i of r.blobs) b.blobs[i].err = err;
        bufs[ri] = new Uint8Array(0);
        return;
      }
      for (const i of r.blobs) {
        b.blobs[i].r = ri;
        b.blobs[i].off -= r.offset;
      }
      bufs[ri] = data;
    });
    this.check();
    const slot = await this.freeSlot();
    const blobs: RBlob[] = b.blobs.map(({ pack: _pack, ...rest }) => rest);
    const msg: RestoreBatch = { t: 'batch', id: this.nextBatch++, packs, ranges: bufs, blobs, items: b.items };
    // Transfer the range buffers that own their memory; pooled small ones are copied.
    const transfer: ArrayBuffer[] = [];
    for (const u of bufs) if (u.byteOffset === 0 && u.buffer.byteLength === u.length && u.length > 0) transfer.push(u.buffer as ArrayBuffer);
    slot.inflight++;
    slot.w.postMessage(msg, transfer);
  }

  private async freeSlot(): Promise<Slot> {
    if (this.slots.length === 0) this.startWorkers();
    for (;;) {
      this.check();
      let best: Slot | null = null;
      for (const s of this.slots) if (s.inflight < PER_WORKER && (!best || s.inflight < best.inflight)) best = s;
      if (best) return best;
      await new Promise<void>((r) => this.slotWaiters.push(r));
    }
  }

  private wake(): void {
    const ws = this.slotWaiters;
    this.slotWaiters = [];
    for (const r of ws) r();
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.wake();
  }

  private startWorkers(): void {
    const n = Math.max(1, this.opts.workers ?? Math.min(os.availableParallelism(), 4));
    const init: RestoreWorkerInit = {
      encKey: this.repo.keys.encKey ? new Uint8Array(this.repo.keys.encKey) : null,
      macKey: new Uint8Array(this.repo.keys.macKey),
      root: this.root,
    };
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL('./restore-worker.js', import.meta.url), { workerData: init });
      const slot: Slot = { w, inflight: 0 };
      w.on('message', (m: RestoreBatchDone) => {
        slot.inflight--;
        try {
          for (const r of m.res) this.onResult(r);
        } catch (err) {
          this.fail(err as Error);
        }
        this.progress(false);
        this.wake();
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (!this.stopping) this.fail(new Error(`restore worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  private onResult(r: RestoreItemResult): void {
    const pf = this.pending.get(r.n);
    if (pf) {
      this.pending.delete(r.n);
      this.claimed.delete(pathKey(pf.dest));
      if (r.err !== undefined) {
        this.result.errors.push({ path: pf.logical, message: r.err });
        if (pf.group) pf.group.state = 'failed';
      } else {
        this.result.files++;
        this.result.bytes += r.bytes;
        if (pf.group) this.groupWritten(pf.group);
      }
      return;
    }
    const lf = this.large.get(r.n);
    if (!lf) return;
    lf.done++;
    lf.bytes += r.bytes;
    if (r.err !== undefined && lf.err === undefined) lf.err = r.err;
    if (lf.all && lf.done === lf.pieces) this.finishLarge(r.n, lf);
  }

  /** The first member of a hard-link group is in place: remember its inode. */
  private groupWritten(g: LinkGroup): void {
    const st = lstatOrNull(g.dest);
    if (st && st.isFile()) {
      g.state = 'ok';
      g.ino = st.ino;
    } else g.state = 'failed';
  }

  /** Writes what is queued and waits until the workers are done. */
  private async drain(): Promise<void> {
    await this.flush();
    while (this.slots.some((s) => s.inflight > 0)) {
      this.check();
      await new Promise<void>((r) => this.slotWaiters.push(r));
    }
    this.check();
  }

  /**
   * Links the later members of hard-link groups to their first member, when that one was
   * written by this restore and is still the file written; otherwise writes their content.
   */
  private async linkDeferred(): Promise<void> {
    const list = this.deferredLinks;
    this.deferredLinks = [];
    for (const d of list) {
      this.check();
      this.claimed.delete(pathKey(d.dest));
      const g = d.group;
      let linked = false;
      if (g.state === 'ok') {
        const st = lstatOrNull(g.dest);
        if (st && st.isFile() && st.ino === g.ino) {
          const tmp = tempName(d.dir);
          try {
            linkSync(g.dest, tmp);
            try {
              renameSync(tmp, d.dest);
            } finally {
              // rename() between two names of one inode does nothing: drop the temporary name.
              if (lstatOrNull(tmp)) unlinkSync(tmp);
            }
            linked = true;
            this.result.files++;
          } catch {
            linked = false; // e.g. the file system has no hard links: write the content
          }
        }
      }
      if (!linked) {
        try {
          await this.restoreFile(d.node, d.dir, d.dest, d.logical, false);
        } catch (err) {
          if (this.failure) throw this.failure;
          this.result.errors.push({ path: d.logical, message: (err as Error).message });
        }
      }
    }
  }

  /** Writes what is still queued, waits for the workers, links hard links, then sets folder metadata. */
  async finish(): Promise<void> {
    await this.drain();
    if (this.deferredLinks.length) {
      await this.linkDeferred();
      await this.drain();
    }
    for (const d of this.dirFinals) {
      try {
        this.finishDir(d.node, d.dest);
      } catch (err) {
        this.result.errors.push({ path: d.logical, message: (err as Error).message });
      }
    }
    this.dirFinals.length = 0;
  }

  private stopping = false;

  /** Stops the workers; on failure, closes and removes unfinished large files. */
  async stop(): Promise<void> {
    this.stopping = true;
    const ws = this.slots;
    this.slots = [];
    await Promise.all(ws.map((s) => s.w.terminate().catch(() => undefined)));
    for (const lf of this.large.values()) {
      try {
        closeSync(lf.fd);
      } catch {
        // ignore
      }
      try {
        unlinkSync(lf.tmp);
      } catch {
        // ignore
      }
    }
    this.large.clear();
  }

  private restoreLink(node: TreeNode, dir: FsPath, dest: FsPath): void {
    let target: FsPath;
    if (node.targetBytes !== undefined) {
      const b = strictBase64(node.targetBytes);
      if (!b || b.length === 0 || b.includes(0)) throw new Error('symlink without a valid target');
      target = b;
    } else {
      if (typeof node.target !== 'string' || node.target.includes('\0')) throw new Error('symlink without a valid target');
      target = node.target;
    }
    const tmp = tempName(dir);
    symlinkSync(target, tmp);
    try {
      if (this.root) lchownSync(tmp, node.uid, node.gid);
      lutimesSync(tmp, utimeSeconds(node.mtime), utimeSeconds(node.mtime));
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

function newBatch(): BatchBuild {
  return { blobs: [], byId: new Map(), items: [], bytes: 0 };
}
