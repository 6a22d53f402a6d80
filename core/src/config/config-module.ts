import { ContainerModule } from 'inversify';
import { HavenPaths, SystemSettingsStore } from '../di/service-identifiers.js';
import type { HavenPaths as HavenPathsValue } from './haven-paths.js';
import { SystemSettingsStoreImpl } from './system-settings.js';

export const configModule = (paths: HavenPathsValue) =>
  new ContainerModule(({ bind }) => {
    bind(HavenPaths).toConstantValue(paths);
    bind(SystemSettingsStore).to(SystemSettingsStoreImpl).inSingletonScope();
  });
