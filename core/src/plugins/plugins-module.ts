import { ContainerModule } from 'inversify';
import { PluginAdministration, PluginDiscovery, PluginHost, ProviderCredentials, StorageProviderRegistry } from '../di/service-identifiers.js';
import { PluginDiscoveryImpl } from './plugin-discovery.js';
import { PluginHostImpl } from './plugin-host.js';
import { PluginAdministrationImpl } from './plugin-administration.js';
import { StorageProviderRegistryImpl } from './storage-provider-registry.js';
import { ProviderCredentialsImpl } from '../credentials/provider-credentials.js';

export const pluginsModule = new ContainerModule(({ bind }) => {
  bind(PluginDiscovery).to(PluginDiscoveryImpl).inSingletonScope();
  bind(StorageProviderRegistry).to(StorageProviderRegistryImpl).inSingletonScope();
  bind(PluginHost).to(PluginHostImpl).inSingletonScope();
  bind(ProviderCredentials).to(ProviderCredentialsImpl).inSingletonScope();
  bind(PluginAdministration).to(PluginAdministrationImpl).inSingletonScope();
});
