import { ContainerModule } from 'inversify';
import { PluginDiscovery, PluginHost, StorageProviderRegistry } from '../di/service-identifiers.js';
import { PluginDiscoveryImpl } from './plugin-discovery.js';
import { PluginHostImpl } from './plugin-host.js';
import { StorageProviderRegistryImpl } from './storage-provider-registry.js';

export const pluginsModule = new ContainerModule(({ bind }) => {
  bind(PluginDiscovery).to(PluginDiscoveryImpl).inSingletonScope();
  bind(StorageProviderRegistry).to(StorageProviderRegistryImpl).inSingletonScope();
  bind(PluginHost).to(PluginHostImpl).inSingletonScope();
});
