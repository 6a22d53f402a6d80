/**
 * The local provider's store as the core uses it: its folder made, as the provider's
 * `open(location, { create: true })` makes it, and wrapped in the RetryingBlobStore every task
 * opens (which also collects a paging `list` into an array for the repository code).
 */
import { mkdirSync } from 'node:fs';
import { LocalBlobStore } from '#plugin-local/local-blob-store.js';
import { RetryingBlobStore } from '#core/storage/retrying-store.js';

export function localStore(dir: string, signal?: AbortSignal): RetryingBlobStore {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return new RetryingBlobStore(new LocalBlobStore(dir), signal);
}
