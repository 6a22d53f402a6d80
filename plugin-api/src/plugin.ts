/**
 * What a plugin is given and what it exports.
 *
 * A plugin package's `package.json` carries a `haven` manifest (read without running the
 * plugin) and `engines.haven`, the API range it needs. Its main module exports
 * `activate(context)` and optionally `deactivate()`.
 *
 * Stable since API 1.0.0; `PluginContext.storagePath`, `PluginContext.secrets` and
 * `StorageProviderContribution.credentials` added in 1.1.0.
 */
import type { Disposable } from './disposable.js';
import type { PluginHooks } from './hooks.js';
import type { StorageProvider } from './storage.js';
import type { SourceHandler } from './source.js';

/** Messages a plugin may log; they go to stderr, never with secrets. */
export interface PluginLogger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** Handed to `activate()`: the plugin's whole view of the host. */
export interface PluginContext {
  /** The host's plugin API version (semver). */
  readonly apiVersion: string;
  /** This plugin's id (from its manifest). */
  readonly pluginId: string;
  /** Folder the plugin was loaded from. */
  readonly pluginPath: string;
  /** Everything pushed here is disposed when the plugin is deactivated or disabled. */
  readonly subscriptions: Disposable[];
  readonly hooks: PluginHooks;
  readonly log: PluginLogger;
  /** Registers a storage provider for a type the manifest contributes. */
  registerStorageProvider(provider: StorageProvider): Disposable;
  /** Registers a source handler the manifest contributes. */
  registerSourceHandler(handler: SourceHandler): Disposable;
  /**
   * A folder for this plugin's own state (caches, settings it learns), private to the user
   * running Haven: `<state folder>/plugin-data/<plugin id>/`, created mode 0700 the first
   * time this property is read. Not for secrets: use `secrets`. Since API 1.1.0 (absent on a
   * 1.0 host, hence optional).
   */
  readonly storagePath?: string;
  /**
   * A per-user store for tokens the plugin obtains itself (a refresh token, a key
   * passphrase), kept encrypted at rest and namespaced by plugin id: a plugin sees only its own
   * names. Credentials the user supplies belong in the manifest's `credentials` instead.
   * Since API 1.1.0 (absent on a 1.0 host, hence optional).
   */
  readonly secrets?: PluginSecrets;
  /**
   * Starts runs of tasks, for plugins that notice when they are due (the removable drives
   * plugin: a drive was connected). Present only where a scheduler serves the tasks — inside
   * `haven service` or `haven service --user` — and absent in a command's own process. Since
   * API 1.2.0.
   */
  readonly runs?: PluginRuns;
}

/** What a plugin asks to run (API 1.2.0). */
export interface RunRequestFilter {
  /** The trigger the runs are recorded with; only `on-connect` tasks answer to it. */
  trigger: 'on-connect';
  /** Only tasks whose destination has this type (e.g. `removable`)… */
  destinationType?: string;
  /**
   * …and, when given, this location (as the task stores it) or a folder below it: `BACKUP`
   * matches `removable:BACKUP` and `removable:BACKUP/haven`.
   */
  destinationLocation?: string;
  /** Why, for the service's log (e.g. "drive BACKUP-1 connected"). */
  reason: string;
}

export interface PluginRuns {
  /**
   * Starts a run of every matching task (each as its owner, never two of one task at once);
   * resolves with how many were started, without waiting for them to end.
   */
  requestRuns(filter: RunRequestFilter): Promise<number>;
}

/**
 * A plugin's secret store (API 1.1.0). Names are 1 to 128 characters of `[A-Za-z0-9._-]`.
 * Calls reject when the store's files cannot be used (wrong owner, readable by others,
 * damaged); the message says which file and what to do.
 */
export interface PluginSecrets {
  /** The value stored under `name`, or undefined when there is none. */
  get(name: string): Promise<string | undefined>;
  /** Stores `value` under `name`, replacing what was there; durable once it resolves. */
  set(name: string, value: string): Promise<void>;
  /** Removes `name`; removing a name that is not there is not an error. */
  delete(name: string): Promise<void>;
}

/** The shape of a plugin's main module. */
export interface PluginModule {
  activate(context: PluginContext): void | Promise<void>;
  deactivate?(): void | Promise<void>;
}

/** A storage provider type a manifest contributes. */
export interface StorageProviderContribution {
  type: string;
  description: string;
  /** false while the provider is declared but not implemented yet: tasks using it do not run. */
  available?: boolean;
  /**
   * What the provider needs from the user to open a destination. The host reads each one from
   * its environment variable, else from the user's credentials file, and passes them in
   * `OpenOptions.credentials` on every `open`. Since API 1.1.0.
   */
  credentials?: CredentialDeclaration[];
}

/**
 * One credential a storage provider needs (API 1.1.0), e.g. an access key or a user name.
 * The value never passes through task settings, run records, logs or command-line arguments.
 */
export interface CredentialDeclaration {
  /** Its key in `OpenOptions.credentials` and in the credentials file: `[a-z][a-zA-Z0-9_]*`. */
  name: string;
  /** The environment variable it is read from first: `[A-Z][A-Z0-9_]*`, e.g. `HAVEN_S3_SECRET_KEY`. */
  env: string;
  /** What it is, for the user: shown when it is missing. */
  description: string;
  /**
   * Whether the value must never be shown (default true). Set false for harmless values such
   * as a user name or a region, which `--debug` may then print.
   */
  secret?: boolean;
  /**
   * Whether `open` cannot work without it (default true). A required credential that is
   * missing fails the command before `open` is called, naming the credential, its variable
   * and the file; an optional one is simply left out of `OpenOptions.credentials`.
   */
  required?: boolean;
}

/** A source handler a manifest contributes. */
export interface SourceHandlerContribution {
  id: string;
  description: string;
  available?: boolean;
}

/** The `haven` field of a plugin's package.json. */
export interface PluginManifest {
  id: string;
  displayName: string;
  description?: string;
  contributes: {
    storageProviders?: StorageProviderContribution[];
    sourceHandlers?: SourceHandlerContribution[];
  };
  /**
   * When to import the plugin's code: `onStorageProvider:TYPE`, `onSourceHandler:ID`,
   * `onStartup` (hooks that must see every run).
   */
  activationEvents: string[];
}
