/**
 * What a plugin is given and what it exports.
 *
 * A plugin package's `package.json` carries a `haven` manifest (read without running the
 * plugin) and `engines.haven`, the API range it needs. Its main module exports
 * `activate(context)` and optionally `deactivate()`.
 *
 * Stable since API 1.0.0.
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
