/**
 * Prompt release of large Buffers. Node frees a Buffer's memory only when the garbage
 * collector finds its (tiny) JS wrapper dead, and with a small JS heap that can take hundreds
 * of MiB of dead chunk buffers, per thread. The backup pipeline asks for a cheap young-generation
 * collection after every few tens of MiB it has let go of, which keeps peak RSS low.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

type GcFn = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let cached: GcFn | null | undefined;

function gcFunction(): GcFn | null {
  if (cached !== undefined) return cached;
  try {
    const existing = (globalThis as { gc?: GcFn }).gc;
    if (typeof existing === 'function') cached = existing;
    else {
      v8.setFlagsFromString('--expose-gc');
      cached = vm.runInNewContext('gc') as GcFn;
    }
  } catch {
    cached = null;
  }
  return cached;
}

/** Counts released bytes; collects the young generation every `every` bytes. */
export class ReleaseTracker {
  private released = 0;
  private readonly gc = gcFunction();

  constructor(private readonly every = 32 * 1024 * 1024) {}

  release(bytes: number): void {
    this.released += bytes;
    if (this.released >= this.every) {
      this.released = 0;
      try {
        this.gc?.({ type: 'minor' });
      } catch {
        // not supported: leave it to the collector
      }
    }
  }
}
