/** The core's services, resolved from a container: what a transport calls for its callers. */
import type { Container } from 'inversify';
import * as ids from './service-identifiers.js';
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
import { callerOf, type Caller, type CallerEnvironment } from '../auth/caller.js';
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
  /** The user of this process. */
  identity: Identity;
  /** The user of this process with `env`: whom personal mode's calls are for. */
  caller: Caller;
  settings: SystemSettingsStore;
  paths: HavenPaths;
}

export function resolveServices(c: Container, env: CallerEnvironment): Services {
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
    caller: callerOf(c.get<Identity>(ids.Identity), env),
    settings: c.get(ids.SystemSettingsStore),
    paths: c.get(ids.HavenPaths),
  };
}
