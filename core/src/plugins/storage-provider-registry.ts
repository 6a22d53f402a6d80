/**
 * Storage providers registered by active plugins, by destination type. A type has one
 * provider; registering a second is refused with both plugins named.
 */
import { injectable } from 'inversify';
import type { Disposable, StorageProvider } from '@haven/plugin-api';
import { toDisposable } from '@haven/plugin-api';

export interface StorageProviderRegistry {
  register(pluginId: string, provider: StorageProvider): Disposable;
  get(type: string): StorageProvider | undefined;
}

@injectable()
export class StorageProviderRegistryImpl implements StorageProviderRegistry {
  private readonly providers = new Map<string, { pluginId: string; provider: StorageProvider }>();

  register(pluginId: string, provider: StorageProvider): Disposable {
    const existing = this.providers.get(provider.type);
    if (existing) {
      throw new Error(`storage provider type "${provider.type}" is already registered by plugin "${existing.pluginId}"; plugin "${pluginId}" cannot register it too`);
    }
    const entry = { pluginId, provider };
    this.providers.set(provider.type, entry);
    return toDisposable(() => {
      if (this.providers.get(provider.type) === entry) this.providers.delete(provider.type);
    });
  }

  get(type: string): StorageProvider | undefined {
    return this.providers.get(type)?.provider;
  }
}
