/**
 * Assembles the core from one ContainerModule per concern. Plugins never see the container:
 * they get a PluginContext, so this wiring can change without breaking them.
 */
import { Container } from 'inversify';
import { resolveHavenPaths, withPluginFolderFirst } from '../config/haven-paths.js';
import { configModule } from '../config/config-module.js';
import { SystemSettingsStoreImpl } from '../config/system-settings.js';
import { currentIdentity } from '../auth/identity.js';
import { authModule } from '../auth/auth-module.js';
import { hooksModule } from '../hooks/hooks-module.js';
import { pluginsModule } from '../plugins/plugins-module.js';
import { tasksModule } from '../tasks/tasks-module.js';
import { historyModule } from '../history/history-module.js';
import { WorkPlacement } from './service-identifiers.js';
import { UserWorkerPlacement } from '../service/worker-placement.js';

export interface HavenContainerOptions {
  /** A plugin folder looked in before all others (see withPluginFolderFirst). */
  pluginFolderFirst?: string;
  /**
   * System mode: repository work runs in per-user worker processes (service/worker-placement.ts)
   * instead of in this process.
   */
  workers?: boolean;
}

export async function createHavenContainer(env: NodeJS.ProcessEnv = process.env, options: HavenContainerOptions = {}): Promise<Container> {
  const found = resolveHavenPaths(env, process.getuid?.() ?? 0);
  const paths = options.pluginFolderFirst ? withPluginFolderFirst(found, options.pluginFolderFirst) : found;
  // Who is an administrator depends on the system settings (the admin group).
  const settings = await new SystemSettingsStoreImpl(paths).read();
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(configModule(paths), authModule(currentIdentity(settings.adminGroups)), hooksModule, pluginsModule, tasksModule, historyModule);
  if (options.workers) container.rebind(WorkPlacement).to(UserWorkerPlacement).inSingletonScope();
  return container;
}
