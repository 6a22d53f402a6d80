/**
 * Restore worker thread: receives a batch (pack ranges read by the main thread, the blobs in
 * them, the files or file pieces to write), decrypts, decompresses and verifies every blob
 * against its id before a byte of it is written, and writes synchronously.
 *
 * Whole files are written to a fresh temporary name in their folder
 * (O_CREAT|O_EXCL|O_NOFOLLOW), get their metadata, and are renamed into place. Pieces of large
 * files are positional writes into a temporary file the main thread opened and finalises.
 */
import { randomBytes, createHmac } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { BlobCipher, Decompressor, FLAG_ZSTD, IntegrityError } from '../repository/crypto.js';
import { ReleaseTracker } from './gc.js';
import { utimeSeconds, type RBlob, type RestoreBatch, type RestoreBatchDone, type RestoreItemResult, type RestoreWorkerInit, type RFile, type RPiece } from './worker-protocol.js';

const init = workerData as RestoreWorkerInit;
const port = parentPort!;
const macKey = Buffer.from(init.macKey);
const cipher = new BlobCipher(init.encKey ? Buffer.from(init.encKey) : null);
const decompressor = new Decompressor();
/** Decrypted blobs and range buffers are garbage once written: collect them promptly. */
const releases = new ReleaseTracker(16 * 1024 * 1024);
const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

class Batch {
  private readonly refs: Int32Array;
  private readonly cache = new Map<number, Buffer | Error>();

  constructor(private readonly msg: RestoreBatch) {
    this.refs = new Int32Array(msg.blobs.length);
    for (const it of msg.items) for (const i of it.ids) this.refs[i]++;
  }

  /** The verified plaintext of blob `i`; throws with the reason it cannot be had. */
  get(i: number): Buffer {
    const left = --this.refs[i];
    let v = this.cache.get(i);
    if (v === undefined) {
      try {
        v = this.decode(this.msg.blobs[i]);
      } catch (err) {
        v = err as Error;
      }
      // decode() may return the decompressor's reused buffer: keep a copy when needed again.
      if (left > 0) this.cache.set(i, v instanceof Error ? v : Buffer.from(v));
    } else if (left <= 0) this.cache.delete(i);
    if (v instanceof Error) throw v;
    return v;
  }

  private decode(b: RBlob): Buffer {
    if (b.err !== undefined || b.r < 0) throw new IntegrityError(b.err ?? `blob ${b.id} could not be read`);
    const env = this.msg.ranges[b.r].subarray(b.off, b.off + b.len);
    const { flag, payload } = cipher.open(env);
    if (cipher.encrypted) releases.release(payload.length);
    const data = flag === FLAG_ZSTD ? decompressor.decompressReused(payload, b.raw) : payload;
    if (createHmac('sha256', macKey).update(data).digest('hex') !== b.id) {
      throw new IntegrityError(`blob ${b.id} in pack ${this.msg.packs[b.p]} does not match its id`);
    }
    return data;
  }

  /** Drops one reference to blob `i` without reading it. */
  skip(i: number): void {
    if (--this.refs[i] <= 0) this.cache.delete(i);
  }

  id(i: number): string {
    return this.msg.blobs[i].id;
  }

  /** Length the index gives for blob `i` (pieces are placed by it). */
  raw(i: number): number {
    return this.msg.blobs[i].raw;
  }
}

function writeAll(fd: number, data: Buffer, pos: number | null): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off, pos === null ? null : pos + off);
}

/** A posted path: a string, or raw bytes (a name that is not valid UTF-8) as a Buffer. */
function fsPath(p: string | Uint8Array): string | Buffer {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function restoreFile(b: Batch, f: RFile): RestoreItemResult {
  let tmp: string | Buffer;
  let fd: number;
  const dest = fsPath(f.dest);
  try {
    const dir = fsPath(f.dir);
    const tmpName = `.haven-restore-${randomBytes(8).toString('hex')}.tmp`;
    tmp = typeof dir === 'string' ? path.join(dir, tmpName) : Buffer.concat([dir, Buffer.from(`/${tmpName}`)]);
    fd = openSync(tmp, OPEN_FLAGS, 0o600);
  } catch (err) {
    for (const i of f.ids) b.skip(i);
    return { n: f.n, bytes: 0, err: (err as Error).message };
  }
  let ok = false;
  try {
    let total = 0;
    for (const i of f.ids) {
      let data: Buffer;
      try {
        data = b.get(i);
      } catch (err) {
        throw new Error(`content could not be restored: ${(err as Error).message}`);
      }
      writeAll(fd, data, null);
      total += data.length;
    }
    if (total !== f.size) throw new Error(`restored ${total} bytes, the snapshot says ${f.size}`);
    if (init.root) fchownSync(fd, f.uid, f.gid);
    fchmodSync(fd, f.mode & 0o7777);
    futimesSync(fd, utimeSeconds(f.mtime), utimeSeconds(f.mtime));
    closeSync(fd);
    ok = true;
    renameSync(tmp, dest);
    return { n: f.n, bytes: total };
  } catch (err) {
    if (!ok) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    return { n: f.n, bytes: 0, err: (err as Error).message };
  }
}

function restorePiece(b: Batch, p: RPiece): RestoreItemResult {
  let pos = p.pos;
  let bytes = 0;
  try {
    for (const i of p.ids) {
      let data: Buffer;
      try {
        data = b.get(i);
        if (data.length !== b.raw(i)) throw new IntegrityError(`blob ${b.id(i)} is ${data.length} bytes long, the index says ${b.raw(i)}`);
      } catch (err) {
        throw new Error(`content could not be restored: ${(err as Error).message}`);
      }
      writeAll(p.fd, data, pos);
      pos += data.length;
      bytes += data.length;
    }
    return { n: p.n, bytes };
  } catch (err) {
    return { n: p.n, bytes, err: (err as Error).message };
  }
}

port.on('message', (msg: RestoreBatch) => {
  const b = new Batch(msg);
  const res: RestoreItemResult[] = [];
  for (const it of msg.items) res.push(it.k === 'f' ? restoreFile(b, it) : restorePiece(b, it));
  port.postMessage({ t: 'done', id: msg.id, res } satisfies RestoreBatchDone);
  for (const r of msg.ranges) releases.release(r.length);
});
