/**
 * Backup worker thread: reads files with openSync/readSync into one reused buffer, chunks them,
 * hashes every chunk, and compresses + seals the chunks the repository does not hold yet.
 * Results go back to the main thread in batches: the sealed envelopes are written back to back
 * into a segment (one ArrayBuffer, transferred, not copied) that the main thread copies into
 * its pack and gives back for reuse; a worker owns at most two segments.
 *
 * Memory is bounded by a credit counter shared with the main thread: sealing a blob takes
 * its size from the credit, the main thread gives it back once the blob is uploaded or
 * dropped as a duplicate; with no credit left the worker waits (Atomics.wait).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ChunkBuffer, Chunker, gearTable } from '../repository/chunker.js';
import { BlobCipher, Compressor, FLAG_RAW, FLAG_ZSTD } from '../repository/crypto.js';
import { ReleaseTracker } from './gc.js';
import type { FileOut, WorkerInit, ToWorker, FromWorker, BlobOut, StatOut } from './worker-protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const macKey = Buffer.from(init.macKey);
const cipher = new BlobCipher(init.encKey ? Buffer.from(init.encKey) : null);
const compressor = new Compressor(init.level);
const chunker = new Chunker(init.chunker, gearTable(Buffer.from(init.chunkerSeed)));
const fileBuf = new ChunkBuffer(chunker);
const credit = new Int32Array(init.credit);
const known = init.known ? new Uint8Array(init.known) : null;
const known32 = init.known ? new Uint32Array(init.known) : null;
const knownMask = init.knownSlots - 1;
/** Ids this worker already produced in this run (they will be stored by the main thread). */
const produced = new Set<string>();
const FLUSH_BYTES = 4 * 1024 * 1024;
/** Sample tested before compressing a chunk that follows one that did not compress. */
const SAMPLE = 64 * 1024;
const releases = new ReleaseTracker(8 * 1024 * 1024);

let outBlobs: BlobOut[] = [];
let outFiles: FileOut[] = [];

/**
 * Sealed blobs are written back to back into a segment (one ArrayBuffer), sent to the main
 * thread as a whole and given back by it for reuse: no allocation per blob, and no memory
 * allocated on one thread and freed on another (which fragments the allocator).
 */
const SEG_SIZE = FLUSH_BYTES + init.chunker.max + 1024;
const segPool: ArrayBuffer[] = [];
let seg: Buffer | null = null;
let segPos = 0;
const segPort = init.segments;

/** At most two segments per worker: one being filled, one on its way to the main thread. */
const SEG_MAX = 2;
let segCount = 0;
const nap = new Int32Array(new SharedArrayBuffer(4));

function takeSegment(): Buffer {
  for (;;) {
    let m;
    while ((m = receiveMessageOnPort(segPort))) segPool.push(m.message as ArrayBuffer);
    const ab = segPool.pop();
    if (ab) return Buffer.from(ab);
    if (segCount < SEG_MAX) {
      segCount++;
      return Buffer.allocUnsafeSlow(SEG_SIZE);
    }
    // The main thread gives a segment back as soon as it has copied it into a pack.
    Atomics.wait(nap, 0, 0, 1);
  }
}

function flush(batchDone?: number): void {
  if (outBlobs.length === 0 && outFiles.length === 0 && batchDone === undefined) return;
  const ab = outBlobs.length && seg ? (seg.buffer as ArrayBuffer) : null;
  const msg: FromWorker = { t: 'res', seg: ab, blobs: outBlobs, files: outFiles, batchDone };
  if (ab) {
    seg = null;
    segPos = 0;
  }
  outBlobs = [];
  outFiles = [];
  port.postMessage(msg, ab ? [ab] : []);
}

function takeCredit(n: number): void {
  if (Atomics.sub(credit, 0, n) - n >= 0) return;
  flush();
  let v: number;
  while ((v = Atomics.load(credit, 0)) < 0) Atomics.wait(credit, 0, v, 1000);
}

function isKnown(id: Buffer): boolean {
  if (!known || !known32) return false;
  let h = id.readUInt32LE(0) & knownMask;
  for (;;) {
    const w = h * 8;
    if (known32[w] === 0 && known32[w + 1] === 0) return false;
    let eq = true;
    const base = h * 32;
    for (let i = 0; i < 32; i++) {
      if (known[base + i] !== id[i]) {
        eq = false;
        break;
      }
    }
    if (eq) return true;
    h = (h + 1) & knownMask;
  }
}

interface Ctx {
  chunks: string[];
  noCompress: boolean;
  /**
   * 1 after a chunk of this file did not compress: the next chunks are first tested on a
   * sample (cheap on incompressible data) and compressed whole only when the sample compresses.
   */
  skip: number;
}

function processChunk(chunk: Buffer, ctx: Ctx): void {
  const id = createHmac('sha256', macKey).update(chunk).digest();
  const hex = id.toString('hex');
  ctx.chunks.push(hex);
  if (produced.has(hex) || isKnown(id)) return;
  produced.add(hex);
  let payload: Buffer = chunk;
  let flag = FLAG_RAW;
  if (!ctx.noCompress) {
    let attempt = true;
    if (ctx.skip > 0 && chunk.length > 2 * SAMPLE) {
      const at = (chunk.length >> 1) - (SAMPLE >> 1);
      attempt = compressor.compress(chunk.subarray(at, at + SAMPLE)) !== null;
    }
    if (attempt) {
      const c = compressor.compress(chunk);
      if (c) {
        payload = c;
        flag = FLAG_ZSTD;
        ctx.skip = 0;
      } else ctx.skip = 1;
    }
  }
  const need = cipher.sealedLength(payload.length);
  takeCredit(need); // may flush: the segment is taken after
  if (seg && segPos + need > seg.length) flush();
  if (!seg) {
    seg = takeSegment();
    segPos = 0;
  }
  const len = cipher.sealInto(flag, payload, seg, segPos);
  if (cipher.encrypted) releases.release(len); // the cipher's intermediate output is garbage now
  outBlobs.push({ id: hex, rawLength: chunk.length, off: segPos, len });
  segPos += len;
  if (segPos >= FLUSH_BYTES) flush();
}

function statOut(st: import('node:fs').Stats): StatOut {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid };
}

function readOnce(path: string | Buffer, ctx: Ctx): { size: number; st: StatOut; changed: boolean } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st0 = fstatSync(fd);
    if (!st0.isFile()) throw new Error('no longer a regular file');
    const cb = fileBuf;
    cb.reset();
    let total = 0;
    for (;;) {
      const room = cb.room();
      const n = readSync(fd, cb.buf, cb.end, room, null);
      if (n === 0) break;
      cb.end += n;
      total += n;
      let c: Buffer | null;
      while ((c = cb.next(false))) processChunk(c, ctx);
    }
    let c: Buffer | null;
    while ((c = cb.next(true))) processChunk(c, ctx);
    const st1 = fstatSync(fd);
    const changed = st1.size !== st0.size || st1.mtimeMs !== st0.mtimeMs || total !== st0.size;
    return { size: total, st: statOut(st1), changed };
  } finally {
    closeSync(fd);
  }
}

function processFile(n: number, path: string | Buffer, noCompress: boolean): FileOut {
  let last: FileOut | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    const ctx: Ctx = { chunks: [], noCompress, skip: 0 };
    try {
      const r = readOnce(path, ctx);
      last = { n, chunks: ctx.chunks, size: r.size, st: r.st, changed: r.changed };
      if (!r.changed) return last;
    } catch (err) {
      return { n, chunks: [], size: 0, error: (err as Error).message };
    }
  }
  return last!;
}

interface StreamState {
  cb: ChunkBuffer;
  ctx: Ctx;
  size: number;
}
const streams = new Map<number, StreamState>();

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'files': {
      for (const job of msg.jobs) {
        // Not outFiles.push(processFile(…)): processFile may flush and replace outFiles.
        const r = processFile(job.n, typeof job.path === 'string' ? job.path : Buffer.from(job.path.buffer, job.path.byteOffset, job.path.byteLength), job.noCompress);
        outFiles.push(r);
        if (outFiles.length >= 256) flush();
      }
      flush(msg.batch);
      break;
    }
    case 'sopen':
      streams.set(msg.n, { cb: new ChunkBuffer(chunker), ctx: { chunks: [], noCompress: msg.noCompress, skip: 0 }, size: 0 });
      break;
    case 'sdata': {
      const s = streams.get(msg.n)!;
      const data = msg.data;
      let from = 0;
      while (from < data.length) {
        from += s.cb.push(data, from);
        let c: Buffer | null;
        while ((c = s.cb.next(false))) processChunk(c, s.ctx);
      }
      s.size += data.length;
      flush();
      port.postMessage({ t: 'sack', n: msg.n } satisfies FromWorker);
      break;
    }
    case 'send': {
      const s = streams.get(msg.n)!;
      streams.delete(msg.n);
      if (msg.error) {
        outFiles.push({ n: msg.n, chunks: [], size: 0, error: msg.error });
      } else {
        let c: Buffer | null;
        while ((c = s.cb.next(true))) processChunk(c, s.ctx);
        outFiles.push({ n: msg.n, chunks: s.ctx.chunks, size: s.size });
      }
      flush();
      break;
    }
  }
});
