/**
 * What a command needs: the services, resolved from the container built on first use.
 */
import type { Container } from 'inversify';
import { createHavenContainer, type HavenContainerOptions } from '../di/container.js';
import * as ids from '../di/service-identifiers.js';
import type { TaskService } from '../tasks/task-service.js';
import type { RunService } from '../tasks/run-service.js';
import type { RepositoryService } from '../tasks/repository-access.js';
import type { RepositoryOperations } from '../tasks/repository-operations.js';
import type { RunHistory } from '../history/run-history.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { PluginAdministration } from '../plugins/plugin-administration.js';
import type { ProviderCredentials } from '../credentials/provider-credentials.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { Identity } from '../auth/identity.js';
import { callerOf, type Caller } from '../auth/caller.js';
import type { SystemSettingsStore } from '../config/system-settings.js';
import type { HavenPaths } from '../config/haven-paths.js';

export interface Services {
  tasks: TaskService;
  runs: RunService;
  repositories: RepositoryService;
  operations: RepositoryOperations;
  history: RunHistory;
  plugins: PluginHost;
  pluginAdmin: PluginAdministration;
  credentials: ProviderCredentials;
  authorizer: Authorizer;
  identity: Identity;
  /** The user of this process with its environment: whom every service call is for (personal mode). */
  caller: Caller;
  settings: SystemSettingsStore;
  paths: HavenPaths;
}

let container: Promise<Container> | undefined;

/** `options` count on the first call only: a command makes its container once. */
export async function services(options: HavenContainerOptions = {}): Promise<Services> {
  container ??= createHavenContainer(process.env, options);
  const c = await container;
  return {
    tasks: c.get(ids.TaskService),
    runs: c.get(ids.RunService),
    repositories: c.get(ids.RepositoryService),
    operations: c.get(ids.RepositoryOperations),
    history: c.get(ids.RunHistory),
    plugins: c.get(ids.PluginHost),
    pluginAdmin: c.get(ids.PluginAdministration),
    credentials: c.get(ids.ProviderCredentials),
    authorizer: c.get(ids.Authorizer),
    identity: c.get(ids.Identity),
    caller: callerOf(c.get<Identity>(ids.Identity), process.env),
    settings: c.get(ids.SystemSettingsStore),
    paths: c.get(ids.HavenPaths),
  };
}

/** Deactivates plugins before the process ends, so their disposables run. */
export async function shutdown(): Promise<void> {
  if (!container) return;
  const c = await container;
  await c.get<PluginHost>(ids.PluginHost).deactivateAll();
}
