/** Messages between the backup coordinator (main thread) and its worker threads. */
import type { ChunkerParams } from '../repository/chunker.js';

export interface WorkerInit {
  encKey: Uint8Array | null;
  macKey: Uint8Array;
  chunkerSeed: Uint8Array;
  chunker: ChunkerParams;
  level: number;
  /** Read-only open-addressing table of 32-byte ids already in the repository (data blobs). */
  known: SharedArrayBuffer | null;
  knownSlots: number;
  /** Int32 credit in bytes (see backup-worker.ts). */
  credit: SharedArrayBuffer;
  /** Port on which the main thread gives segments back for reuse (ArrayBuffer messages). */
  segments: import('node:worker_threads').MessagePort;
}

export interface FileJob {
  n: number;
  /** A string, or the raw bytes (a Buffer, a Uint8Array once posted) for a non-UTF-8 path. */
  path: string | Uint8Array;
  noCompress: boolean;
}

export type ToWorker =
  | { t: 'files'; batch: number; jobs: FileJob[] }
  | { t: 'sopen'; n: number; noCompress: boolean }
  | { t: 'sdata'; n: number; data: Uint8Array }
  | { t: 'send'; n: number; error?: string };

/** A sealed blob: `len` bytes at `off` in the message's segment. */
export interface BlobOut {
  id: string;
  rawLength: number;
  off: number;
  len: number;
}

export interface StatOut {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface FileOut {
  n: number;
  chunks: string[];
  size: number;
  st?: StatOut;
  error?: string;
  changed?: boolean;
}

export type FromWorker =
  | { t: 'res'; seg: ArrayBuffer | null; blobs: BlobOut[]; files: FileOut[]; batchDone?: number }
  | { t: 'sack'; n: number };

// ---- restore ---------------------------------------------------------------------------

export interface RestoreWorkerInit {
  encKey: Uint8Array | null;
  macKey: Uint8Array;
  /** Restore owners (fchown) — only when running as root. */
  root: boolean;
}

/** One blob a batch needs: where its envelope lies in the batch's ranges. */
export interface RBlob {
  id: string;
  /** Index into the batch's `packs` (for messages). */
  p: number;
  /** Index into the batch's `ranges`, or -1 when the blob could not be read (`err`). */
  r: number;
  off: number;
  len: number;
  raw: number;
  /** Why the blob is not available (not in the index, pack missing…). */
  err?: string;
}

/** A whole file: the worker creates a temporary file in `dir`, writes, sets metadata, renames to `dest`. */
export interface RFile {
  k: 'f';
  n: number;
  /** Strings, or raw bytes (Uint8Array once posted) for paths that are not valid UTF-8. */
  dir: string | Uint8Array;
  dest: string | Uint8Array;
  ids: number[];
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/** A piece of a large file opened by the main thread: positional writes into `fd` from `pos`. */
export interface RPiece {
  k: 'p';
  n: number;
  fd: number;
  pos: number;
  ids: number[];
}

export interface RestoreBatch {
  t: 'batch';
  id: number;
  packs: string[];
  ranges: Uint8Array[];
  blobs: RBlob[];
  items: Array<RFile | RPiece>;
}

export interface RestoreItemResult {
  n: number;
  bytes: number;
  err?: string;
}

export interface RestoreBatchDone {
  t: 'done';
  id: number;
  res: RestoreItemResult[];
}

/**
 * Seconds to pass to (f|l)utimes for a time in ms. libuv keeps microseconds and truncates, and
 * `ms / 1000` is often a hair below the intended value (1795588055.159 → …158999), which would
 * restore ….158999 ms. Passing the middle of the intended microsecond restores it exactly.
 */
export function utimeSeconds(ms: number): number {
  return (Math.floor(ms * 1000) + 0.5) / 1e6;
}
