/**
 * Every service identifier of the core, in one place. Each is a Symbol with an interface of
 * the same name declared beside its default implementation.
 */
export const HavenEnvironment = Symbol('HavenEnvironment');
export const HavenPaths = Symbol('HavenPaths');
export const HookSetId = Symbol('HookSet');
export const Identity = Symbol('Identity');
export const SystemSettingsStore = Symbol('SystemSettingsStore');
export const PluginDiscovery = Symbol('PluginDiscovery');
export const PluginHost = Symbol('PluginHost');
export const StorageProviderRegistry = Symbol('StorageProviderRegistry');
export const Authorizer = Symbol('Authorizer');
export const TaskStore = Symbol('TaskStore');
export const TaskService = Symbol('TaskService');
export const RunHistory = Symbol('RunHistory');
export const RunService = Symbol('RunService');
export const RepositoryService = Symbol('RepositoryService');
export const RepositoryOperations = Symbol('RepositoryOperations');
export const PluginAdministration = Symbol('PluginAdministration');
export const ProviderCredentials = Symbol('ProviderCredentials');
export const WorkPlacement = Symbol('WorkPlacement');
