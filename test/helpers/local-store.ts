/**
 * The local provider's store as the core uses it: wrapped in the RetryingBlobStore every task
 * opens (which also collects a paging `list` into an array for the repository code).
 */
import { LocalBlobStore } from '#plugin-local/local-blob-store.js';
import { RetryingBlobStore } from '#core/storage/retrying-store.js';

export function localStore(dir: string, signal?: AbortSignal): RetryingBlobStore {
  return new RetryingBlobStore(new LocalBlobStore(dir), signal);
}
