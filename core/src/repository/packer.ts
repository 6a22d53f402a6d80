/**
 * Builds a pack in place: blob envelopes are copied into one buffer as they arrive, so the
 * pieces can be released at once and the pack is never assembled by a second copy.
 */
import type { BlobType, PackEntry } from './pack.js';

export class PackBuilder {
  private buf: Buffer | null = null;
  private pos = 0;
  private entries: PackEntry[] = [];
  /** Buffers of uploaded packs, reused (no fresh allocation, no garbage per pack). */
  private readonly free: Buffer[] = [];

  /**
   * `capacity` should exceed the flush size by one maximal blob plus the trailer. `initial`
   * (default: capacity) is the first allocation for packs that are usually small (trees);
   * the buffer grows when needed.
   */
  constructor(
    private readonly capacity: number,
    private readonly initial = capacity,
    private readonly keep = 3,
  ) {}

  /** Gives back the buffer of a pack handed out by take() once it is no longer used. */
  recycle(buf: Buffer): void {
    if (buf.length === this.capacity && this.free.length < this.keep) this.free.push(buf);
  }

  get bytes(): number {
    return this.pos;
  }

  get count(): number {
    return this.entries.length;
  }

  add(id: string, type: BlobType, rawLength: number, data: Uint8Array): void {
    if (!this.buf) this.buf = this.free.pop() ?? Buffer.allocUnsafeSlow(Math.max(this.initial, data.length + 1024 * 1024));
    if (this.pos + data.length > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.min(Math.max(this.capacity, this.pos + data.length + 1024 * 1024), Math.max(this.buf.length * 2, this.pos + data.length + 1024 * 1024)));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    this.buf.set(data, this.pos);
    this.entries.push({ id, type, offset: this.pos, length: data.length, rawLength });
    this.pos += data.length;
  }

  /** Hands over the pack (buffer, used bytes, entries) and starts a new one. */
  take(): { buf: Buffer; used: number; entries: PackEntry[] } | null {
    if (!this.buf || this.entries.length === 0) return null;
    const out = { buf: this.buf, used: this.pos, entries: this.entries };
    this.buf = null;
    this.pos = 0;
    this.entries = [];
    return out;
  }
}
