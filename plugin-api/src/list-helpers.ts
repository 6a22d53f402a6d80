/**
 * `BlobStore.list` may answer with an array (API 1.0) or an async iterable (1.1, for stores that
 * page through many objects). These helpers let callers accept both without caring which.
 *
 * Added in API 1.1.0.
 */
import type { BlobInfo, BlobStore, StoreCallOptions } from './storage.js';

/** Whether a `list` answer is an async iterable (rather than a promise of an array). */
export function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

/** Visits each blob of a `list` answer as it comes, array or iterable. */
export async function forEachListed(answer: Promise<BlobInfo[]> | AsyncIterable<BlobInfo>, visit: (info: BlobInfo) => void): Promise<void> {
  if (isAsyncIterable<BlobInfo>(answer)) {
    for await (const info of answer) visit(info);
    return;
  }
  for (const info of await answer) visit(info);
}

/** Every blob `store.list(prefix)` answers with, as one array. */
export async function listAll(store: Pick<BlobStore, 'list'>, prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  await forEachListed(store.list(prefix, options), (info) => out.push(info));
  return out;
}
