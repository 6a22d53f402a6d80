/**
 * Every store a task uses is wrapped in a RetryingBlobStore: transient failures are retried
 * with exponential backoff and full jitter, within bounded attempts and time, honouring a
 * provider's `retryAfterMs`; not-found, permanent, authentication, quota and cancelled
 * failures are not (restic's internal/backend/retry is the model). A run's AbortSignal reaches
 * every call, and a call stops being waited for as soon as it aborts. A failure that stays
 * becomes a StorageError naming the store, with the provider's message and code.
 */
import { forEachListed, type BlobInfo, type BlobStore, type ByteRange, type StoreCallOptions, type StoreCapabilities, type TemporarySweep } from '@haven/plugin-api';
import type { RepositoryStore } from './repository-store.js';
import { StorageError } from '../errors.js';
import { debug } from '../util/logger.js';

export type StoreFailureKind = 'not-found' | 'transient' | 'permanent' | 'auth' | 'quota' | 'cancelled';

const PERMANENT_ERRNO = new Set(['EACCES', 'EPERM', 'EROFS', 'EISDIR', 'ENOTDIR', 'EINVAL', 'ENAMETOOLONG', 'ELOOP', 'EEXIST', 'ENOTEMPTY', 'EBADF']);
const QUOTA_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** What a store failure is, from its code (store-errors.ts); unknown failures are transient. */
export function classifyStoreError(err: unknown): StoreFailureKind {
  const e = err as { code?: unknown; name?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code === 'ENOENT') return 'not-found';
  if (code === 'ETRANSIENT') return 'transient';
  if (code === 'EPERMANENT') return 'permanent';
  if (code === 'EAUTH') return 'auth';
  if (code === 'EQUOTA' || (code && QUOTA_ERRNO.has(code))) return 'quota';
  if (code === 'ECANCELLED' || code === 'ABORT_ERR' || e?.name === 'AbortError') return 'cancelled';
  if (code && PERMANENT_ERRNO.has(code)) return 'permanent';
  if (err instanceof StorageError) return err.kind;
  return 'transient';
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts after this much time since the first attempt. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 6, baseDelayMs: 200, maxDelayMs: 15_000, maxElapsedMs: 120_000 };

const KIND_WORDS: Record<Exclude<StoreFailureKind, 'not-found'>, string> = {
  transient: 'failed (gave up after retrying)',
  permanent: 'refused',
  auth: 'refused the credentials',
  quota: 'is full (or over quota)',
  cancelled: 'call cancelled',
};

function abortReason(signal: AbortSignal): StorageError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
  return new StorageError(reason, 'ECANCELLED', 'cancelled', { cause: signal.reason });
}

/** Resolves with p, or rejects as soon as the signal aborts (p may go on, unawaited). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Waits ms; an abort ends the wait and clears the timer, so nothing keeps the process alive. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Lets at most `limit` calls run at once (a store's declared maxConcurrency). */
class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** Joins a stream of chunks into one buffer, checking it has the size announced. */
async function joinChunks(chunks: AsyncIterable<Uint8Array>, size: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const chunk of chunks) {
    if (at + chunk.length > size) throw new StorageError(`a stream gave more than the ${size} bytes announced`, undefined, 'permanent');
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== size) throw new StorageError(`a stream gave ${at} bytes, not the ${size} announced`, undefined, 'permanent');
  return out;
}

async function* oneChunk(data: Buffer): AsyncIterable<Uint8Array> {
  if (data.length) yield data;
}

/** Whole blobs kept for a store without ranges, so reading a pack piecewise fetches it once. */
const WHOLE_BLOB_CACHE = 2;

export class RetryingBlobStore implements RepositoryStore {
  readonly description: string;
  readonly capabilities: StoreCapabilities;
  private readonly gate: Gate | null;
  private readonly wholeBlobs: Array<{ name: string; data: Promise<Buffer> }> = [];
  /** Retries made so far (a run records them). */
  retries = 0;
  putIfAbsent?: (name: string, data: Uint8Array, options?: StoreCallOptions) => Promise<boolean>;
  sweepTemporaries?: (options: { dryRun: boolean }) => Promise<TemporarySweep>;
  freeSpace?: () => Promise<number | undefined>;

  constructor(
    readonly inner: BlobStore,
    private signal?: AbortSignal,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {
    this.description = inner.description;
    this.capabilities = { ranges: true, listAfterWrite: 'strong', ...inner.capabilities };
    const limit = this.capabilities.maxConcurrency;
    this.gate = limit && limit > 0 ? new Gate(limit) : null;
    // Optional methods exist on the wrapper only where the provider has them: the core asks.
    const putIfAbsent = inner.putIfAbsent?.bind(inner);
    if (putIfAbsent) this.putIfAbsent = (name, data) => this.call(`putIfAbsent ${name}`, (o) => putIfAbsent(name, data, o));
    const sweep = inner.sweepTemporaries?.bind(inner);
    if (sweep) this.sweepTemporaries = (options) => this.call('sweepTemporaries', () => sweep(options));
    const freeSpace = inner.freeSpace?.bind(inner);
    if (freeSpace) this.freeSpace = () => this.call('freeSpace', (o) => freeSpace(o));
  }

  /** Runs one store call with the retry policy; see the file comment. */
  private async call<T>(what: string, fn: (options: StoreCallOptions) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.signal?.aborted) throw abortReason(this.signal);
      let err: unknown;
      try {
        const attemptCall = () => fn({ signal: this.signal });
        return await untilAborted(this.gate ? this.gate.run(attemptCall) : attemptCall(), this.signal);
      } catch (e) {
        err = e;
      }
      const kind = classifyStoreError(err);
      if (kind === 'not-found') throw err; // callers rely on code ENOENT
      if (err instanceof StorageError && err.kind === 'cancelled') throw err;
      const message = (err as Error)?.message ?? String(err);
      if (kind !== 'transient' || attempt >= this.policy.attempts || Date.now() - started >= this.policy.maxElapsedMs) {
        const code = (err as { code?: unknown })?.code;
        const tries = kind === 'transient' && attempt > 1 ? ` (${attempt} attempts)` : '';
        throw new StorageError(`${this.description} ${KIND_WORDS[kind]}${tries}: ${message}`, typeof code === 'string' ? code : undefined, kind, { cause: err });
      }
      const backoff = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
      const retryAfter = Number((err as { retryAfterMs?: unknown })?.retryAfterMs) || 0;
      // Full jitter: many clients that failed together do not retry together.
      const delay = Math.max(retryAfter, Math.random() * backoff);
      this.retries++;
      debug(`${this.description}: ${what} failed (${message}); retry ${attempt} of ${this.policy.attempts - 1} in ${Math.round(delay)} ms`);
      await sleep(delay, this.signal);
    }
  }

  /**
   * Lets calls run again after the signal aborted: the clean-up of an interrupted run (its
   * lock released) must still reach the store.
   */
  endCancellation(): void {
    this.signal = undefined;
  }

  put(name: string, data: Uint8Array): Promise<void> {
    this.forget(name);
    return this.call(`put ${name}`, (o) => this.inner.put(name, data, o));
  }

  get(name: string, range?: ByteRange): Promise<Buffer> {
    if (range && this.capabilities.ranges === false) return this.getRangeOfWhole(name, range);
    return this.call(`get ${name}`, (o) => this.inner.get(name, range, o));
  }

  /** A range of a store that cannot read ranges: the whole blob (kept for the next pieces), sliced. */
  private async getRangeOfWhole(name: string, range: ByteRange): Promise<Buffer> {
    let hit = this.wholeBlobs.find((b) => b.name === name);
    if (!hit) {
      hit = { name, data: this.call(`get ${name}`, (o) => this.inner.get(name, undefined, o)) };
      this.wholeBlobs.unshift(hit);
      this.wholeBlobs.length = Math.min(this.wholeBlobs.length, WHOLE_BLOB_CACHE);
      hit.data.catch(() => this.forget(name)); // a failed read is not kept
    }
    const whole = await hit.data;
    if (range.offset > whole.length) throw new StorageError(`${this.description} refused: a range of "${name}" starts past its end`, undefined, 'permanent');
    return whole.subarray(range.offset, Math.min(whole.length, range.offset + range.length));
  }

  /**
   * Every blob below `prefix`, whether the provider answers an array or pages (an async
   * iterable). A listing that fails part-way is started again, and what the failed attempt
   * already delivered is not delivered twice (restic's retrying backend does the same).
   */
  async list(prefix: string): Promise<BlobInfo[]> {
    const found = new Map<string, BlobInfo>();
    await this.call(`list ${prefix}`, (o) =>
      forEachListed(this.inner.list(prefix, o), (info) => {
        if (!found.has(info.name)) found.set(info.name, info);
      }),
    );
    return [...found.values()];
  }

  /**
   * A blob from a stream of chunks of `size` bytes in all: `open` gives a fresh stream for
   * each attempt. A provider without `putStream` gets the chunks joined into one buffer.
   */
  putFromStream(name: string, open: () => AsyncIterable<Uint8Array>, size: number): Promise<void> {
    this.forget(name);
    const putStream = this.inner.putStream?.bind(this.inner);
    return this.call(`put ${name}`, async (o) =>
      putStream ? putStream(name, open(), size, o) : this.inner.put(name, await joinChunks(open(), size), o),
    );
  }

  /**
   * A blob (or a range of it) as a stream of chunks. Opening is retried like `get`; a failure
   * after the first chunk reaches the reader, who may read again. A provider without
   * `getStream` is read with `get`.
   */
  async readStream(name: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array>> {
    const getStream = this.inner.getStream?.bind(this.inner);
    if (!getStream || (range && this.capabilities.ranges === false)) return oneChunk(await this.get(name, range));
    return this.call(`get ${name}`, (o) => getStream(name, range, o));
  }

  delete(name: string): Promise<void> {
    this.forget(name);
    return this.call(`delete ${name}`, (o) => this.inner.delete(name, o));
  }

  stat(name: string): Promise<BlobInfo | null> {
    return this.call(`stat ${name}`, (o) => this.inner.stat(name, o));
  }

  /** A blob written or deleted is no longer what the whole-blob cache holds. */
  private forget(name: string): void {
    const i = this.wholeBlobs.findIndex((b) => b.name === name);
    if (i >= 0) this.wholeBlobs.splice(i, 1);
  }

  close(): Promise<void> {
    this.wholeBlobs.length = 0;
    return this.inner.close();
  }
}
