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
}

export interface FileJob {
  n: number;
  path: string;
  noCompress: boolean;
}

export type ToWorker =
  | { t: 'files'; batch: number; jobs: FileJob[] }
  | { t: 'sopen'; n: number; noCompress: boolean }
  | { t: 'sdata'; n: number; data: Uint8Array }
  | { t: 'send'; n: number; error?: string };

export interface BlobOut {
  id: string;
  rawLength: number;
  data: Uint8Array;
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
  | { t: 'res'; blobs: BlobOut[]; files: FileOut[]; batchDone?: number }
  | { t: 'sack'; n: number };
