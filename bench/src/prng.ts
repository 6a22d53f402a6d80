/**
 * Small, fast, seeded PRNG (sfc32) so the corpus is byte-for-byte reproducible
 * from `--seed` on every machine and Node version.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9 ^ stream;
    this.b = 0x243f6a88 ^ (seed | 0);
    this.c = 0xb7e15162 ^ Math.imul(stream, 0x85ebca6b);
    this.d = (seed * 2654435761) | 0;
    for (let i = 0; i < 24; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Fill a buffer with pseudo-random bytes (incompressible). */
  fill(buf: Uint8Array): Uint8Array {
    const words = Math.floor(buf.byteLength / 4);
    if (buf.byteOffset % 4 === 0) {
      const u32 = new Uint32Array(buf.buffer, buf.byteOffset, words);
      for (let i = 0; i < words; i++) u32[i] = this.nextU32();
    } else {
      for (let i = 0; i < words * 4; i += 4) {
        const v = this.nextU32();
        buf[i] = v & 0xff;
        buf[i + 1] = (v >>> 8) & 0xff;
        buf[i + 2] = (v >>> 16) & 0xff;
        buf[i + 3] = v >>> 24;
      }
    }
    for (let i = words * 4; i < buf.byteLength; i++) buf[i] = this.nextU32() & 0xff;
    return buf;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    // Buffer.allocUnsafe may return a slice of the pool at an unaligned offset; fill handles it.
    this.fill(b);
    return b;
  }
}
