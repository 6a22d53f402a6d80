/**
 * Builds a pack in place: blob envelopes are copied into one buffer as they arrive, so the
 * pieces can be released at once and the pack is never assembled by a second copy.
 */
import type { BlobType, PackEntry } from './pack.js';

export class PackBuilder {
  private buf: Buffer | null = null;
  private pos = 0;
  private entries: PackEntry[] = [];

  /** `capacity` should exceed the flush size by one maximal blob plus the trailer. */
  constructor(private readonly capacity: number) {}

  get bytes(): number {
    return this.pos;
  }

  get count(): number {
    return this.entries.length;
  }

  add(id: string, type: BlobType, rawLength: number, data: Uint8Array): void {
    if (!this.buf) this.buf = Buffer.allocUnsafeSlow(Math.max(this.capacity, data.length + 1024 * 1024));
    if (this.pos + data.length > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + data.length + 1024 * 1024));
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
