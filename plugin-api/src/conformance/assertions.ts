/**
 * Checks the cases share. Each failure message names what was expected and what happened,
 * because a plugin author reads it without the kit's source at hand.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Thrown by ctx.skip(): the runner reports the case as skipped with this reason. */
export class CaseSkipped extends Error {}

export function fail(message: string): never {
  throw new Error(message);
}

export function randomBlob(size: number): Buffer {
  return randomBytes(size);
}

function describeBytes(b: Uint8Array): string {
  return `${b.length} bytes (sha256 ${createHash('sha256').update(b).digest('hex').slice(0, 12)}…)`;
}

/** Where two byte strings first differ, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export function expectBytes(actual: unknown, expected: Uint8Array, what: string): void {
  // The core calls Buffer methods on what get returns (the contract's type is Buffer).
  if (!Buffer.isBuffer(actual)) fail(`${what}: expected a Buffer, got ${actual === null ? 'null' : typeof actual === 'object' ? (actual as object).constructor?.name : typeof actual}`);
  if (actual.equals(expected)) return;
  fail(`${what}: expected ${describeBytes(expected)}, got ${describeBytes(actual)}; first difference at byte ${firstDifference(actual, expected)}`);
}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

function describeError(err: unknown): string {
  const code = codeOf(err);
  return `${code === undefined ? 'an error without code' : `code ${JSON.stringify(code)}`} (${err instanceof Error ? err.message : String(err)})`;
}

/** Awaits p, which must reject with an error whose `code` is `code`. */
export async function expectRejectsWithCode(p: Promise<unknown>, code: string, what: string): Promise<void> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    if (codeOf(err) === code) return;
    fail(`${what}: expected a rejection with code '${code}', got ${describeError(err)}`);
  }
  fail(`${what}: expected a rejection with code '${code}', but it resolved${Buffer.isBuffer(value) ? ` with ${value.length} bytes` : ''}`);
}

/** Awaits p, which must reject (any error). */
export async function expectRejects(p: Promise<unknown>, what: string): Promise<void> {
  let value: unknown;
  try {
    value = await p;
  } catch {
    return;
  }
  fail(`${what}: expected a rejection, but it resolved${Buffer.isBuffer(value) ? ` with ${value.length} bytes` : ''}`);
}

/** Awaits p, which must reject, with any code but ENOENT (the thing asked about exists, or may). */
export async function expectRejectsNotMissing(p: Promise<unknown>, what: string): Promise<void> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') return;
    fail(`${what}: expected a rejection with any code but 'ENOENT', got ${describeError(err)}`);
  }
  fail(`${what}: expected a rejection, but it resolved${Buffer.isBuffer(value) ? ` with ${value.length} bytes` : ` with ${JSON.stringify(value)}`}`);
}

/**
 * Settles a call given an aborted signal: a 1.1 provider may reject with ECANCELLED, a 1.0 one
 * completes; anything else fails. Returns whether it completed.
 */
export async function completesOrCancels<T>(p: Promise<T>, what: string): Promise<{ completed: true; value: T } | { completed: false }> {
  try {
    return { completed: true, value: await p };
  } catch (err) {
    if (codeOf(err) === 'ECANCELLED') return { completed: false };
    const hint = codeOf(err) === 'ABORT_ERR' ? "; a store must reject with code 'ECANCELLED', not Node's AbortError" : '';
    fail(`${what} with an aborted signal: expected it to complete or reject with code 'ECANCELLED', got ${describeError(err)}${hint}`);
  }
}

/**
 * Like Promise.all, but settles every promise before it rejects (with the first failure): a
 * case must not end, and be cleaned up, while some of its calls still write.
 */
export async function settleAll<T>(promises: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Runs fn over items, at most `limit` at a time; after a failure no new item starts. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await settleAll(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `{ name: size }` of a list result, failing on a name listed twice. */
export function sizesByName(list: ReadonlyArray<{ name: string; size: number }>, what: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const { name, size } of list) {
    if (out.has(name)) fail(`${what}: "${name}" is listed twice`);
    out.set(name, size);
  }
  return out;
}

/** A list result must hold exactly these names with these sizes. */
export function expectListing(list: ReadonlyArray<{ name: string; size: number }>, expected: ReadonlyMap<string, number>, what: string): void {
  const got = sizesByName(list, what);
  const missing = [...expected.keys()].filter((n) => !got.has(n));
  const extra = [...got.keys()].filter((n) => !expected.has(n));
  const show = (names: string[]) => names.slice(0, 5).map((n) => `"${n}"`).join(', ') + (names.length > 5 ? `, … (${names.length} in all)` : '');
  if (missing.length || extra.length) {
    fail(`${what}: expected ${expected.size} blobs, got ${got.size}${missing.length ? `; missing ${show(missing)}` : ''}${extra.length ? `; not expected ${show(extra)}` : ''}`);
  }
  for (const [name, size] of expected) {
    if (got.get(name) !== size) fail(`${what}: "${name}" listed with size ${got.get(name)}, expected ${size}`);
  }
}

/**
 * Runs `probe` over and over (at least once) while `work` runs. Waits for `work` even when a
 * probe fails: a case must not end, and be cleaned up, while its writer still writes.
 */
export async function probeWhile(work: () => Promise<void>, probe: () => Promise<void>): Promise<void> {
  let running = true;
  const worker = work().finally(() => (running = false));
  try {
    do await probe();
    while (running);
  } finally {
    await worker.catch(() => undefined);
  }
  await worker; // the writer's own failure, if the probes passed
}
