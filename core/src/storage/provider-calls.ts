/**
 * Calls into a storage provider itself (not its stores): a failure there is the provider's
 * to explain, so it reaches the user as one line naming the destination and carrying the
 * provider's own words, never as "unexpected error" — in every command, not only `run`.
 */
import type { Availability, BlobStore, OpenOptions, StorageProvider } from '@haven/plugin-api';
import { HavenError, StorageError } from '../errors.js';
import { classifyStoreError } from './retrying-store.js';

function asStorageError(err: unknown, destination: string, what: string): unknown {
  if (err instanceof HavenError) return err;
  const kind = classifyStoreError(err);
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  // Not found at open time: the location itself is missing, which trying again cannot fix.
  return new StorageError(`${destination} ${what}: ${message}`, typeof code === 'string' ? code : undefined, kind === 'not-found' ? 'permanent' : kind, { cause: err });
}

export async function openProviderStore(provider: StorageProvider, location: string, options: OpenOptions): Promise<BlobStore> {
  try {
    return await provider.open(location, options);
  } catch (err) {
    throw asStorageError(err, `${provider.type}:${location}`, 'cannot be opened');
  }
}

export async function providerAvailability(provider: StorageProvider, location: string): Promise<Availability> {
  try {
    return await provider.checkAvailability(location);
  } catch (err) {
    throw asStorageError(err, `${provider.type}:${location}`, 'cannot be checked');
  }
}
