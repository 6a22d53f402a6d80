/**
 * Content-defined chunking: FastCDC-style gear hash over 32-bit integers.
 *
 * - The 256-entry gear table is derived from the repository's secret chunker seed, so chunk
 *   boundaries do not reveal content to someone who sees only chunk sizes.
 * - The first `min` bytes of a chunk are skipped (never hashed); the hash then runs with the
 *   strict mask (avgBits + 2 one-bits) until the chunk reaches `avg`, and with the loose mask
 *   (avgBits - 2 one-bits) until `max` (normalised chunking, level 2).
 * - Masks take the high bits of the hash, which depend on the last 32 bytes seen.
 */
import { createHmac } from 'node:crypto';

export interface ChunkerParams {
  algorithm: 'fastcdc-gear32';
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNKER: ChunkerParams = {
  algorithm: 'fastcdc-gear32',
  min: 256 * 1024,
  avg: 1024 * 1024,
  max: 4 * 1024 * 1024,
};

export function gearTable(seed: Uint8Array): Int32Array {
  const table = new Int32Array(256);
  for (let block = 0; block < 32; block++) {
    const d = createHmac('sha256', seed).update(`haven-gear-${block}`).digest();
    for (let j = 0; j < 8; j++) table[block * 8 + j] = d.readInt32LE(j * 4);
  }
  return table;
}

function topBits(n: number): number {
  // n one-bits at the top of a 32-bit word, as a signed int32.
  return n >= 32 ? -1 : (~((1 << (32 - n)) - 1)) | 0;
}

export class Chunker {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(
    params: ChunkerParams,
    private readonly gear: Int32Array,
  ) {
    if (params.algorithm !== 'fastcdc-gear32') throw new Error(`unknown chunker ${params.algorithm}`);
    this.min = params.min;
    this.avg = params.avg;
    this.max = params.max;
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = topBits(bits + 2);
    this.maskL = topBits(bits - 2);
  }

  /**
   * Finds the end of the chunk starting at `start` in buf[start, end). Call it with at least
   * `max` bytes available unless the data ends at `end`. Returns the (exclusive) cut offset.
   */
  cut(buf: Uint8Array, start: number, end: number): number {
    const len = Math.min(end - start, this.max);
    if (len <= this.min) return start + len;
    const gear = this.gear;
    const maskS = this.maskS;
    const maskL = this.maskL;
    let h = 0;
    let i = start + this.min;
    const e1 = start + Math.min(this.avg, len);
    const e2 = start + len;
    // Strict mask region, unrolled 4x.
    const e1u = e1 - 3;
    while (i < e1u) {
      h = ((h << 1) + gear[buf[i]]) | 0;
      if ((h & maskS) === 0) return i + 1;
      h = ((h << 1) + gear[buf[i + 1]]) | 0;
      if ((h & maskS) === 0) return i + 2;
      h = ((h << 1) + gear[buf[i + 2]]) | 0;
      if ((h & maskS) === 0) return i + 3;
      h = ((h << 1) + gear[buf[i + 3]]) | 0;
      if ((h & maskS) === 0) return i + 4;
      i += 4;
    }
    for (; i < e1; i++) {
      h = ((h << 1) + gear[buf[i]]) | 0;
      if ((h & maskS) === 0) return i + 1;
    }
    const e2u = e2 - 3;
    while (i < e2u) {
      h = ((h << 1) + gear[buf[i]]) | 0;
      if ((h & maskL) === 0) return i + 1;
      h = ((h << 1) + gear[buf[i + 1]]) | 0;
      if ((h & maskL) === 0) return i + 2;
      h = ((h << 1) + gear[buf[i + 2]]) | 0;
      if ((h & maskL) === 0) return i + 3;
      h = ((h << 1) + gear[buf[i + 3]]) | 0;
      if ((h & maskL) === 0) return i + 4;
      i += 4;
    }
    for (; i < e2; i++) {
      h = ((h << 1) + gear[buf[i]]) | 0;
      if ((h & maskL) === 0) return i + 1;
    }
    return e2;
  }
}

/**
 * A streaming chunk buffer: bytes are appended (or read straight into `buf`), complete chunks
 * are taken out. Holds at most 2 × max bytes.
 */
export class ChunkBuffer {
  readonly buf: Buffer;
  start = 0;
  end = 0;

  constructor(readonly chunker: Chunker) {
    this.buf = Buffer.allocUnsafe(chunker.max * 2);
  }

  reset(): void {
    this.start = 0;
    this.end = 0;
  }

  /** Free room at the end, compacting first when the front is consumed. */
  room(): number {
    if (this.start > 0 && this.end + this.chunker.max > this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    return this.buf.length - this.end;
  }

  /** Copies bytes in; returns how many fit. */
  push(data: Uint8Array, from = 0): number {
    const n = Math.min(this.room(), data.length - from);
    this.buf.set(data.subarray(from, from + n), this.end);
    this.end += n;
    return n;
  }

  /** Next complete chunk, or null when more data is needed (or none is left when final). */
  next(final: boolean): Buffer | null {
    const avail = this.end - this.start;
    if (avail === 0) return null;
    if (!final && avail < this.chunker.max) return null;
    const c = this.chunker.cut(this.buf, this.start, this.end);
    const chunk = this.buf.subarray(this.start, c);
    this.start = c;
    return chunk;
  }
}
