/**
 * The store as the repository code sees it: a BlobStore whose `list` always answers an array.
 * Providers may page (`list` as an async iterable, API 1.1); the RetryingBlobStore every task
 * opens collects the pages, so repository code never has to care.
 */
import type { BlobInfo, BlobStore, StoreCallOptions } from '@haven/plugin-api';

export interface RepositoryStore extends Omit<BlobStore, 'list' | 'putStream' | 'getStream'> {
  list(prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]>;
}
