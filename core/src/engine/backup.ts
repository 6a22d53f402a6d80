/**
 * Backup: walk → (workers: read, chunk, hash, compress, seal) → dedup → packs → index →
 * trees → snapshot.
 *
 * The main thread walks (readdirSync + lstatSync), compares with the parent snapshot, hands
 * files to the workers in batches, receives sealed blobs, drops duplicates, fills packs and
 * uploads them, and builds the tree blobs bottom-up as folders complete.
 *
 * Names are strings (fast path); a folder where a decoded name contains U+FFFD is read again as
 * bytes, and names that are not valid UTF-8 are kept raw (TreeNode.nameBytes), with Buffer paths
 * below them. Files with a link count > 1 record their link group (TreeNode.hardlink).
 */
import { lstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { compilePatterns, type PathPatterns } from './path-patterns.js';
import type { RunError } from '@haven/plugin-api';
import type { ScanEntry } from '@haven/plugin-api';
import type { HookSet } from '../hooks/hook-set.js';
import { UsageError } from '../errors.js';
import { acquireLock } from '../repository/locks.js';
import type { PackInfo } from '../repository/index.js';
import { BlobType, type PackEntry } from '../repository/pack.js';
import { prepareRepository } from './backup-preparation.js';
import type { TemporarySweep } from '@haven/plugin-api';
import { PackBuilder } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';
import type { Snapshot } from '../repository/snapshot.js';
import { compareNames, nodeKey, serializeTree, type Tree, type TreeNode } from '../repository/tree.js';
import { ReleaseTracker } from './gc.js';
import { loadAllSnapshots, resolveSnapshot } from './snapshots.js';
import type { FileJob, FileOut, FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

export interface BackupOptions {
  sources: string[];
  excludes: string[];
  includes?: string[];
  meta: { taskId: string; task: string; runId: string; host: string; user: string };
  parent?: string | 'auto';
  hooks?: Pick<HookSet, 'scan' | 'copy'>;
  onProgress?: (p: BackupProgress) => void;
  /** Called once the snapshot is stored, before anything else: a run record can name it at once. */
  onSnapshotSaved?: (id: string) => Promise<void>;
  signal?: AbortSignal;
  /** Worker threads (default: available cores). */
  workers?: number;
}

export interface BackupProgress {
  filesDone: number;
  bytesDone: number;
  filesTotal?: number;
  bytesTotal?: number;
  currentPath?: string;
}

export interface BackupResult {
  snapshotId: string;
  files: number;
  dirs: number;
  bytesRead: number;
  bytesAdded: number;
  errors: RunError[];
  skippedSpecial: number;
  /** Files not read again because they were unchanged since the parent snapshot. */
  unchanged?: number;
  /** Packs found in the store without an index (an interrupted run) and indexed now. */
  recoveredPacks?: number;
  /** Packs the index listed that the store had lost; what the sources still hold was uploaded again. */
  missingPacks?: number;
  /** Temporaries of killed writers removed before the run. */
  removedTemporaries?: TemporarySweep;
  /** What was found wrong with the repository and worked around (see RunRecord.warnings). */
  warnings: string[];
  parent?: string;
}

const NO_COMPRESS = new Set(
  'gz tgz xz txz zst bz2 tbz2 lz4 lzma 7z rar zip jar apk deb rpm jpg jpeg png gif webp avif heic mp3 ogg opus flac aac m4a mp4 m4v mkv webm mov avi woff woff2'.split(' '),
);

function noCompress(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && NO_COMPRESS.has(name.slice(dot + 1).toLowerCase());
}

/**
 * A path on disk: a string, or a Buffer when some component of it is not valid UTF-8 (Linux
 * names are bytes). Strings are the fast path; Buffers appear only below such a name.
 */
type FsPath = string | Buffer;

/** The path for messages, excludes and hooks (invalid bytes shown as U+FFFD). */
function displayPath(p: FsPath): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

function childPath(dir: FsPath, name: string, raw: Buffer | undefined): FsPath {
  if (typeof dir === 'string' && raw === undefined) return dir === '/' ? `/${name}` : `${dir}/${name}`;
  const d = typeof dir === 'string' ? Buffer.from(dir) : dir;
  const n = raw ?? Buffer.from(name);
  const sep = d.length === 1 && d[0] === 0x2f ? 0 : 1;
  // Not pooled: the path owns its memory, so posting it to a worker copies only the path.
  const out = Buffer.allocUnsafeSlow(d.length + sep + n.length);
  d.copy(out, 0);
  if (sep) out[d.length] = 0x2f;
  n.copy(out, d.length + sep);
  return out;
}

/**
 * The raw bytes of `decoded` when it is the lossy decoding of a name that is not valid UTF-8
 * (only names containing U+FFFD can be), else undefined.
 */
function invalidUtf8(raw: Buffer, decoded: string): Buffer | undefined {
  if (!decoded.includes('\uFFFD')) return undefined;
  return Buffer.from(decoded, 'utf8').equals(raw) ? undefined : raw;
}

/** Reads a folder's names; `raws[i]` is set only for names that are not valid UTF-8. */
function readNames(dir: FsPath): { names: string[]; raws: Array<Buffer | undefined> | null } {
  if (typeof dir === 'string') {
    const names = readdirSync(dir);
    let suspect = false;
    for (const n of names) if (n.includes('\uFFFD')) suspect = true;
    if (!suspect) return { names, raws: null };
  }
  // Slow path: some name may not be valid UTF-8; read the raw bytes.
  const bufs = readdirSync(dir, { encoding: 'buffer' });
  const names: string[] = [];
  const raws: Array<Buffer | undefined> = [];
  let any = false;
  for (const b of bufs) {
    const name = b.toString('utf8');
    const raw = invalidUtf8(b, name);
    if (raw) any = true;
    names.push(name);
    raws.push(raw);
  }
  return { names, raws: any ? raws : null };
}

interface DirState {
  nodes: Array<TreeNode | null>;
  pending: number;
  parent: DirState | null;
  /** The node describing this folder in its parent (null for the root). */
  node: TreeNode | null;
  path: string;
}

interface PendingFile {
  dir: DirState;
  slot: number;
  node: TreeNode;
  path: string;
  entry?: ScanEntry;
}

type Subdir = { path: FsPath; state: DirState; prev: TreeNode | undefined; key: string };

interface WorkerSlot {
  w: Worker;
  /** Gives the worker's segments back (see backup-worker.ts). */
  segPort: MessagePort;
  credit: Int32Array;
  batches: number;
  exited: boolean;
}

const CREDIT_PER_WORKER = 16 * 1024 * 1024;
/** The least credit that lets a worker always seal one maximal chunk. */
const MIN_CREDIT = 12 * 1024 * 1024;
const BATCH_FILES = 128;
const BATCH_BYTES = 4 * 1024 * 1024;
const QUEUE_HIGH = 4096;
const QUEUE_LOW = 1024;
const INDEX_EVERY_PACKS = 32;

function buildKnownTable(repo: Repository): { sab: SharedArrayBuffer | null; slots: number } {
  let n = 0;
  for (const e of repo.index.blobs.values()) if (e.type === BlobType.Data) n++;
  if (n === 0) return { sab: null, slots: 1 };
  let slots = 16;
  while (slots < n * 2) slots *= 2;
  const sab = new SharedArrayBuffer(slots * 32);
  const u8 = new Uint8Array(sab);
  const u32 = new Uint32Array(sab);
  const mask = slots - 1;
  for (const [id, e] of repo.index.blobs) {
    if (e.type !== BlobType.Data) continue;
    const b = Buffer.from(id, 'hex');
    if (b.readUInt32LE(0) === 0 && b.readUInt32LE(4) === 0) continue; // cannot mark a slot used
    let h = b.readUInt32LE(0) & mask;
    while (u32[h * 8] !== 0 || u32[h * 8 + 1] !== 0) h = (h + 1) & mask;
    u8.set(b, h * 32);
  }
  return { sab, slots };
}

function errMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'EACCES') return 'permission denied';
  return e?.message ?? String(err);
}

export async function runBackup(repo: Repository, opts: BackupOptions): Promise<BackupResult> {
  if (!opts.sources.length) throw new UsageError('no sources to back up');
  for (const s of opts.sources) if (!path.isAbsolute(s)) throw new UsageError(`source "${s}" is not an absolute path`);
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
  const lock = await acquireLock(repo, { exclusive: false, purpose: 'backup' });
  try {
    return await new BackupRun(repo, opts).run();
  } finally {
    await lock.release().catch(() => undefined);
  }
}

class BackupRun {
  private readonly errors: RunError[] = [];
  private files = 0;
  private dirs = 0;
  private bytesRead = 0;
  private bytesAdded = 0;
  private skippedSpecial = 0;
  private unchanged = 0;
  private filesDone = 0;
  private bytesDone = 0;
  private lastProgress = 0;
  private currentPath = '';

  private workers: WorkerSlot[] = [];
  private queue: FileJob[] = [];
  private queuedBytes = 0;
  private pendingFiles = new Map<number, PendingFile>();
  private jobSizes = new Map<number, number>();
  private nextJob = 1;
  private nextBatch = 1;
  private roomWaiters: Array<() => void> = [];
  private streamAcks = new Map<number, () => void>();

  private pendingIds = new Set<string>();
  private dataPack: PackBuilder;
  private dataPackCredits: number[] = [];
  private treePack: PackBuilder;
  private uploads = new Set<Promise<void>>();
  private unindexed: PackInfo[] = [];
  private indexChain: Promise<void> = Promise.resolve();

  private failure: Error | null = null;
  private failWaiters: Array<(e: Error) => void> = [];
  private rootTree: string | null = null;
  private rootDone!: () => void;
  private readonly rootDonePromise = new Promise<void>((r) => (this.rootDone = r));
  private afterFilePromises: Array<Promise<void>> = [];

  private readonly excludes: PathPatterns | null;
  private readonly includes: PathPatterns | null;
  private readonly annotate: boolean;
  private readonly openContent: boolean;
  private readonly beforeFile: boolean;
  private readonly afterFile: boolean;
  private readonly packSize: number;
  private readonly releases = new ReleaseTracker();
  private readonly creditPerWorker = Math.max(CREDIT_PER_WORKER, MIN_CREDIT);

  constructor(
    private readonly repo: Repository,
    private readonly opts: BackupOptions,
  ) {
    this.excludes = compilePatterns(opts.excludes);
    this.includes = compilePatterns(opts.includes);
    const h = opts.hooks;
    this.annotate = !!h && h.scan.annotateEntry.isUsed();
    this.openContent = !!h && h.copy.openContent.isUsed();
    this.beforeFile = !!h && h.copy.beforeFile.isUsed();
    this.afterFile = !!h && h.copy.afterFile.isUsed();
    this.packSize = repo.config.packSize;
    const capacity = this.packSize + repo.config.chunker.max + 2 * 1024 * 1024;
    this.dataPack = new PackBuilder(capacity);
    this.treePack = new PackBuilder(capacity, 1024 * 1024, 0);
  }

  // ---- failure plumbing ------------------------------------------------------------------

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    for (const w of this.failWaiters) w(this.failure);
    this.failWaiters = [];
    for (const r of this.roomWaiters) r();
    this.roomWaiters = [];
    for (const r of this.streamAcks.values()) r();
  }

  private check(): void {
    if (!this.failure && this.opts.signal?.aborted) this.fail(this.opts.signal.reason ?? new Error('backup aborted'));
    if (this.failure) throw this.failure;
  }

  /** Resolves with p, or rejects as soon as the run fails. */
  private guard<T>(p: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.failWaiters.push(reject);
      p.then(resolve, reject);
    });
  }

  // ---- main flow -----------------------------------------------------------------------

  async run(): Promise<BackupResult> {
    const repo = this.repo;
    const onAbort = () => this.fail(this.opts.signal?.reason ?? new Error('backup aborted'));
    this.opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const recovered = await prepareRepository(repo);
      this.bytesAdded += recovered.bytes;
      const parent = await this.findParent();
      const parentRoot = parent ? await repo.loadTree(parent.snap.tree).catch(() => null) : null;
      this.startWorkers();

      const claims: Snapshot['claims'] = {};
      const root: DirState = { nodes: [], pending: 1, parent: null, node: null, path: '' };
      const rootPrev = parentRoot ? new Map(parentRoot.nodes.map((n) => [nodeKey(n), n])) : null;
      const usedNames = new Set<string>();
      const subdirs: Subdir[] = [];
      for (const source of this.opts.sources) {
        this.check();
        if (this.opts.hooks) {
          const claim = await this.opts.hooks.scan.claimSource.promise(source);
          if (claim) claims[source] = { handler: claim.handler, description: claim.description };
        }
        let st: Stats;
        try {
          st = lstatSync(source);
        } catch (err) {
          this.errors.push({ path: source, message: errMessage(err) });
          continue;
        }
        let name = path.basename(source) || 'root';
        for (let k = 2; usedNames.has(name); k++) name = `${path.basename(source) || 'root'} (${k})`;
        usedNames.add(name);
        await this.handleEntry(root, name, undefined, source, st, rootPrev, subdirs, new Set());
      }
      this.dispatch();
      for (const sd of subdirs) await this.walkSubdir(sd, new Set([sd.key]));
      // From here on the totals are final, so progress can show a percentage and an ETA.
      this.walkDone = true;
      this.decPending(root);
      this.dispatch();
      await this.guard(this.rootDonePromise);
      await Promise.all(this.afterFilePromises);
      this.check();
      this.flushDataPack();
      this.flushTreePack();
      await this.guard(this.drainUploads());
      await this.guard(this.indexChain);
      this.check();
      this.bytesAdded += await repo.saveIndex(this.unindexed);
      this.unindexed = [];

      const snap: Snapshot = {
        v: 1,
        time: new Date().toISOString(),
        taskId: this.opts.meta.taskId,
        task: this.opts.meta.task,
        runId: this.opts.meta.runId,
        host: this.opts.meta.host,
        user: this.opts.meta.user,
        sources: this.opts.sources.slice(),
        tree: this.rootTree!,
        parent: parent?.id,
        files: this.files,
        dirs: this.dirs,
        bytes: this.bytesRead,
        bytesAdded: this.bytesAdded,
        errors: this.errors.length,
      };
      if (Object.keys(claims).length) snap.claims = claims;
      const saved = await repo.saveJson('snapshots', snap);
      await this.opts.onSnapshotSaved?.(saved.name.slice('snapshots/'.length));
      this.bytesAdded += saved.size;
      this.progress(true);
      return {
        snapshotId: saved.name.slice('snapshots/'.length),
        files: this.files,
        dirs: this.dirs,
        bytesRead: this.bytesRead,
        bytesAdded: this.bytesAdded,
        errors: this.errors,
        skippedSpecial: this.skippedSpecial,
        unchanged: this.unchanged,
        recoveredPacks: recovered.recoveredPacks,
        ...(recovered.missingPacks.length ? { missingPacks: recovered.missingPacks.length } : {}),
        ...(recovered.temporaries?.count ? { removedTemporaries: recovered.temporaries } : {}),
        warnings: recovered.warnings,
        parent: parent?.id,
      };
    } catch (err) {
      this.fail(err);
      // Packs already uploaded stay usable: index them so the next run does not redo them.
      await Promise.allSettled([...this.uploads]);
      await this.indexChain.catch(() => undefined);
      if (this.unindexed.length) await repo.saveIndex(this.unindexed).catch(() => undefined);
      throw this.failure ?? err;
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort);
      await this.stopWorkers();
    }
  }

  private async findParent(): Promise<{ id: string; snap: Snapshot } | null> {
    const p = this.opts.parent ?? 'auto';
    if (p === 'auto') {
      const { snapshots } = await loadAllSnapshots(this.repo);
      return snapshots.find((s) => s.snap.taskId === this.opts.meta.taskId) ?? null;
    }
    return resolveSnapshot(this.repo, p);
  }

  // ---- workers -------------------------------------------------------------------------

  private startWorkers(): void {
    const n = Math.max(1, this.opts.workers ?? Math.min(os.availableParallelism(), 8));
    const known = buildKnownTable(this.repo);
    for (let i = 0; i < n; i++) {
      const credit = new SharedArrayBuffer(4);
      const c32 = new Int32Array(credit);
      c32[0] = this.creditPerWorker;
      const ch = new MessageChannel();
      const init: WorkerInit = {
        encKey: this.repo.keys.encKey ? new Uint8Array(this.repo.keys.encKey) : null,
        macKey: new Uint8Array(this.repo.keys.macKey),
        chunkerSeed: new Uint8Array(this.repo.keys.chunkerSeed),
        chunker: this.repo.config.chunker,
        level: this.repo.config.compression.level,
        known: known.sab,
        knownSlots: known.slots,
        credit,
        segments: ch.port2,
      };
      const w = new Worker(new URL('./backup-worker.js', import.meta.url), { workerData: init, transferList: [ch.port2] });
      const slot: WorkerSlot = { w, segPort: ch.port1, credit: c32, batches: 0, exited: false };
      w.on('message', (m: FromWorker) => {
        try {
          this.onWorkerMessage(i, slot, m);
        } catch (err) {
          this.fail(err);
        }
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        slot.exited = true;
        if (!this.failure && code !== 0) this.fail(new Error(`backup worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  private async stopWorkers(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((s) => (s.exited ? undefined : s.w.terminate().catch(() => undefined))));
    for (const s of ws) s.segPort.close();
  }

  private giveCredit(worker: number, bytes: number): void {
    const s = this.workers[worker];
    if (!s) return;
    Atomics.add(s.credit, 0, bytes);
    Atomics.notify(s.credit, 0);
  }

  private onWorkerMessage(wi: number, slot: WorkerSlot, m: FromWorker): void {
    if (this.failure) return;
    if (m.t === 'sack') {
      const r = this.streamAcks.get(m.n);
      this.streamAcks.delete(m.n);
      r?.();
      return;
    }
    const seg = m.seg ? new Uint8Array(m.seg) : null;
    for (const b of m.blobs) {
      if (this.repo.index.has(b.id) || this.pendingIds.has(b.id)) {
        this.giveCredit(wi, b.len);
        continue;
      }
      this.pendingIds.add(b.id);
      this.dataPack.add(b.id, BlobType.Data, b.rawLength, seg!.subarray(b.off, b.off + b.len));
      this.dataPackCredits[wi] = (this.dataPackCredits[wi] ?? 0) + b.len;
      // Flush at the target size, or earlier when one worker's credit is mostly held by the
      // open pack (it would otherwise wait for credit that only a flush gives back).
      if (this.dataPack.bytes >= this.packSize || this.dataPackCredits[wi] >= this.creditPerWorker - this.repo.config.chunker.max - 65536) this.flushDataPack();
    }
    // Copied into the pack: the segment goes back to its worker for reuse.
    if (m.seg) slot.segPort.postMessage(m.seg, [m.seg]);
    for (const f of m.files) this.completeFile(f);
    if (m.batchDone !== undefined) {
      slot.batches--;
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.queue.length && !this.failure) {
      let best: WorkerSlot | null = null;
      for (const s of this.workers) if (!s.exited && s.batches < 2 && (!best || s.batches < best.batches)) best = s;
      if (!best) break;
      const jobs: FileJob[] = [];
      let bytes = 0;
      while (this.queue.length && jobs.length < BATCH_FILES && (jobs.length === 0 || bytes < BATCH_BYTES)) {
        const j = this.queue.shift()!;
        const size = this.jobSizes.get(j.n) ?? 0;
        bytes += size;
        this.queuedBytes -= size;
        jobs.push(j);
      }
      best.batches++;
      const msg: ToWorker = { t: 'files', batch: this.nextBatch++, jobs };
      best.w.postMessage(msg);
    }
    if (this.queue.length < QUEUE_LOW && this.roomWaiters.length) {
      const ws = this.roomWaiters;
      this.roomWaiters = [];
      for (const r of ws) r();
    }
  }

  private async waitForRoom(): Promise<void> {
    while (this.queue.length >= QUEUE_HIGH && !this.failure) {
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
    this.check();
  }

  // ---- packs ---------------------------------------------------------------------------

  private flushDataPack(): void {
    const pack = this.dataPack.take();
    if (!pack) return;
    const credits = this.dataPackCredits;
    this.dataPackCredits = [];
    this.upload(pack, () => {
      this.dataPack.recycle(pack.buf);
      credits.forEach((c, wi) => c && this.giveCredit(wi, c));
    });
  }

  private flushTreePack(): void {
    const pack = this.treePack.take();
    if (!pack) return;
    this.upload(pack, () => undefined);
  }

  private upload(pack: { buf: Buffer; used: number; entries: PackEntry[] }, done: () => void): void {
    const p = this.repo
      .uploadPackBuffer(pack.buf, pack.used, pack.entries)
      .then((info) => {
        this.bytesAdded += info.size;
        this.releases.release(info.size); // the pack body is garbage now
        for (const b of pack.entries) this.pendingIds.delete(b.id);
        this.unindexed.push(info);
        if (this.unindexed.length >= INDEX_EVERY_PACKS) {
          const packs = this.unindexed;
          this.unindexed = [];
          this.indexChain = this.indexChain.then(async () => {
            this.bytesAdded += await this.repo.saveIndex(packs);
          });
          this.indexChain.catch((err) => this.fail(err));
        }
        done();
      })
      .catch((err) => this.fail(err))
      .finally(() => this.uploads.delete(p));
    this.uploads.add(p);
  }

  private async drainUploads(): Promise<void> {
    while (this.uploads.size) await Promise.all([...this.uploads]);
  }

  // ---- walking -------------------------------------------------------------------------

  private excluded(full: string, name: string): boolean {
    return this.excludes !== null && this.excludes(full, name);
  }

  private included(full: string, name: string): boolean {
    return this.includes === null || this.includes(full, name);
  }

  private makeNode(name: string, type: TreeNode['type'], st: Stats): TreeNode {
    return {
      name,
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: type === 'dir' ? 0 : st.size,
      mtime: st.mtimeMs,
      ctime: st.ctimeMs,
      ino: st.ino,
    };
  }

  private async walkSubdir(sd: Subdir, ancestors: Set<string>): Promise<void> {
    let prevTree: Tree | null = null;
    if (sd.prev && sd.prev.type === 'dir' && sd.prev.subtree && this.repo.index.has(sd.prev.subtree)) {
      prevTree = await this.repo.loadTree(sd.prev.subtree).catch(() => null);
    }
    await this.walkDir(sd.path, sd.state, prevTree, ancestors);
  }

  private dirsSinceYield = 0;

  private async walkDir(absPath: FsPath, dir: DirState, prevTree: Tree | null, ancestors: Set<string>): Promise<void> {
    this.check();
    let names: string[];
    let raws: Array<Buffer | undefined> | null = null;
    try {
      ({ names, raws } = readNames(absPath));
    } catch (err) {
      this.errors.push({ path: displayPath(absPath), message: errMessage(err) });
      names = [];
    }
    let order: number[] | null = null;
    if (raws) {
      const ns = names;
      order = ns.map((_, i) => i).sort((a, b) => compareNames(ns[a], ns[b]));
    } else names.sort(compareNames);
    const prev = prevTree ? new Map(prevTree.nodes.map((n) => [nodeKey(n), n])) : null;
    const subdirs: Subdir[] = [];
    for (let k = 0; k < names.length; k++) {
      const i = order ? order[k] : k;
      const name = names[i];
      const raw = raws ? raws[i] : undefined;
      const full = childPath(absPath, name, raw);
      const shown = typeof full === 'string' ? full : displayPath(full);
      if (this.excluded(shown, name)) continue;
      let st: Stats;
      try {
        st = lstatSync(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // vanished since readdir
        this.errors.push({ path: shown, message: errMessage(err) });
        continue;
      }
      await this.handleEntry(dir, name, raw, full, st, prev, subdirs, ancestors);
    }
    this.dispatch();
    if (this.queue.length >= QUEUE_HIGH) await this.waitForRoom();
    else if (++this.dirsSinceYield >= 16) {
      this.dirsSinceYield = 0;
      await yieldNow();
      this.check();
    }
    for (const sd of subdirs) {
      ancestors.add(sd.key);
      await this.walkSubdir(sd, ancestors);
      ancestors.delete(sd.key);
    }
    this.decPending(dir);
  }

  private async handleEntry(
    dir: DirState,
    name: string,
    raw: Buffer | undefined,
    fsPath: FsPath,
    st: Stats,
    prev: Map<string, TreeNode> | null,
    subdirs: Subdir[],
    ancestors: Set<string>,
  ): Promise<void> {
    const full = displayPath(fsPath);
    let node: TreeNode;
    let kind: ScanEntry['kind'];
    if (st.isSymbolicLink()) {
      let target: string;
      let targetRaw: Buffer | undefined;
      try {
        target = readlinkSync(fsPath, 'utf8');
        if (target.includes('\uFFFD')) targetRaw = invalidUtf8(readlinkSync(fsPath, { encoding: 'buffer' }), target);
      } catch (err) {
        this.errors.push({ path: full, message: errMessage(err) });
        return;
      }
      let tst: Stats | null = null;
      try {
        tst = statSync(fsPath);
      } catch {
        tst = null; // dangling link
      }
      if (tst && tst.isDirectory() && !ancestors.has(`${tst.dev}:${tst.ino}`)) {
        // Product rule: links to folders are followed (their content counts logically).
        node = this.makeNode(name, 'dir', tst);
        node.target = target; // informational: this folder was reached through a link
        if (targetRaw) node.targetBytes = targetRaw.toString('base64');
        kind = 'dir';
        st = tst;
      } else {
        node = this.makeNode(name, 'symlink', st);
        node.target = target;
        if (targetRaw) node.targetBytes = targetRaw.toString('base64');
        kind = 'symlink';
      }
    } else if (st.isDirectory()) {
      if (ancestors.has(`${st.dev}:${st.ino}`)) return; // a bind-mount loop: never walk twice
      node = this.makeNode(name, 'dir', st);
      kind = 'dir';
    } else if (st.isFile()) {
      if (!this.included(full, name)) return;
      node = this.makeNode(name, 'file', st);
      // Several names of one inode: restored as hard links to each other.
      if (st.nlink > 1) node.hardlink = `${st.dev}:${st.ino}`;
      kind = 'file';
    } else {
      this.skippedSpecial++;
      return;
    }
    if (raw) node.nameBytes = raw.toString('base64');
    let entry: ScanEntry | undefined;
    if (this.annotate) {
      entry = { path: full, kind, size: node.size, mtimeMs: node.mtime, annotations: {} };
      entry = (await this.opts.hooks!.scan.annotateEntry.promise(entry)) ?? entry;
      if (entry.annotations && Object.keys(entry.annotations).length) node.annotations = entry.annotations;
    }
    const slot = dir.nodes.push(node) - 1;
    this.currentPath = full;
    if (kind === 'dir') {
      this.dirs++;
      dir.pending++;
      const state: DirState = { nodes: [], pending: 1, parent: dir, node, path: full };
      subdirs.push({ path: fsPath, state, prev: prev?.get(nodeKey(node)), key: `${st.dev}:${st.ino}` });
      return;
    }
    if (kind === 'symlink') return;

    this.files++;
    this.bytesRead += st.size;
    const p = prev?.get(nodeKey(node));
    if (
      p &&
      p.type === 'file' &&
      p.size === st.size &&
      p.mtime === st.mtimeMs &&
      p.ctime === st.ctimeMs &&
      p.ino === st.ino &&
      p.content &&
      p.content.every((id) => this.repo.index.has(id))
    ) {
      node.content = p.content;
      this.unchanged++;
      this.filesDone++;
      this.bytesDone += st.size;
      this.progress(false);
      return;
    }
    dir.pending++;
    const n = this.nextJob++;
    if (this.beforeFile || this.openContent || this.afterFile) {
      entry ??= { path: full, kind, size: node.size, mtimeMs: node.mtime, annotations: node.annotations ?? {} };
    }
    this.pendingFiles.set(n, { dir, slot, node, path: full, entry });
    if (this.beforeFile) await this.opts.hooks!.copy.beforeFile.promise(entry!);
    if (this.openContent) {
      const source = await this.opts.hooks!.copy.openContent.promise(entry!);
      if (source) {
        await this.streamContent(n, source, noCompress(name));
        return;
      }
    }
    this.queue.push({ n, path: fsPath, noCompress: noCompress(name) });
    this.jobSizes.set(n, st.size);
    this.queuedBytes += st.size;
  }

  private streamWorker = 0;

  private async streamContent(n: number, source: { open(): AsyncIterable<Uint8Array> }, nc: boolean): Promise<void> {
    const slot = this.workers[this.streamWorker++ % this.workers.length];
    slot.w.postMessage({ t: 'sopen', n, noCompress: nc } satisfies ToWorker);
    let error: string | undefined;
    try {
      for await (const piece of source.open()) {
        this.check();
        const data = new Uint8Array(piece); // a copy we may transfer
        const acked = new Promise<void>((r) => this.streamAcks.set(n, r));
        slot.w.postMessage({ t: 'sdata', n, data } satisfies ToWorker, [data.buffer]);
        await acked;
        this.check();
      }
    } catch (err) {
      if (this.failure) throw this.failure;
      error = `content could not be obtained: ${errMessage(err)}`;
    }
    slot.w.postMessage({ t: 'send', n, error } satisfies ToWorker);
  }

  private completeFile(f: FileOut): void {
    const pf = this.pendingFiles.get(f.n);
    if (!pf) return;
    this.pendingFiles.delete(f.n);
    this.jobSizes.delete(f.n);
    let error: Error | undefined;
    if (f.error !== undefined) {
      this.errors.push({ path: pf.path, message: f.error });
      pf.dir.nodes[pf.slot] = null;
      this.files--;
      this.bytesRead -= pf.node.size;
      error = new Error(f.error);
    } else {
      const node = pf.node;
      this.bytesRead += f.size - node.size;
      node.content = f.chunks;
      node.size = f.size;
      if (f.st) {
        node.mtime = f.st.mtimeMs;
        node.ctime = f.st.ctimeMs;
        node.ino = f.st.ino;
        node.mode = f.st.mode & 0o7777;
        node.uid = f.st.uid;
        node.gid = f.st.gid;
      }
      if (f.changed) {
        this.errors.push({ path: pf.path, message: 'file changed while it was being read (read twice); the stored version may be inconsistent' });
      }
      this.filesDone++;
      this.bytesDone += f.size;
      this.currentPath = pf.path;
      this.progress(false);
    }
    if (this.afterFile && pf.entry) {
      this.afterFilePromises.push(this.opts.hooks!.copy.afterFile.promise(pf.entry, error).catch(() => undefined));
    }
    this.decPending(pf.dir);
  }

  private decPending(dir: DirState): void {
    if (--dir.pending > 0) return;
    const nodes = dir.nodes.filter((n): n is TreeNode => n !== null);
    const buf = serializeTree(nodes);
    const id = this.repo.hash(buf);
    if (!this.repo.index.has(id) && !this.pendingIds.has(id)) {
      this.pendingIds.add(id);
      const env = this.repo.seal(buf);
      this.treePack.add(id, BlobType.Tree, buf.length, env);
      if (this.treePack.bytes >= this.packSize) this.flushTreePack();
    }
    if (dir.parent) {
      dir.node!.subtree = id;
      this.decPending(dir.parent);
    } else {
      this.rootTree = id;
      this.rootDone();
    }
  }

  private walkDone = false;

  private progress(final: boolean): void {
    const cb = this.opts.onProgress;
    if (!cb) return;
    const now = Date.now();
    if (!final && now - this.lastProgress < 200) return;
    this.lastProgress = now;
    const p: BackupProgress = { filesDone: this.filesDone, bytesDone: this.bytesDone, currentPath: this.currentPath };
    if (final || this.walkDone) {
      p.filesTotal = this.files;
      p.bytesTotal = this.bytesRead;
    }
    try {
      cb(p);
    } catch {
      // a progress callback never breaks a backup
    }
  }
}
