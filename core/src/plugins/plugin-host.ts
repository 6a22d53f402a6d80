/**
 * The plugin host: turns discovered packages into plugins with a state, activates a plugin's
 * code only when one of its contributions is first needed (lazy activation), and keeps a
 * plugin that fails to load from taking the rest down.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inject, injectable } from 'inversify';
import { PLUGIN_API_VERSION } from '@haven/plugin-api';
import type { Disposable, PluginContext, PluginModule, PluginRuns, RunRequestFilter, StorageProvider, StorageProviderContribution } from '@haven/plugin-api';
import {
  HavenPaths as HavenPathsId,
  HookSetId,
  PluginDiscovery as PluginDiscoveryId,
  StorageProviderRegistry as RegistryId,
  SystemSettingsStore as SettingsId,
} from '../di/service-identifiers.js';
import type { HookSet } from '../hooks/hook-set.js';
import { createPluginHooks, type TapFailure } from '../hooks/plugin-hooks.js';
import type { SystemSettingsStore } from '../config/system-settings.js';
import type { DiscoveredPlugin, PluginDiscovery } from './plugin-discovery.js';
import type { StorageProviderRegistry } from './storage-provider-registry.js';
import { apiIncompatibility, type PluginPackage } from './plugin-manifest.js';
import { PluginFailedError, ProviderNotInstalledError, SkippedError, UsageError } from '../errors.js';
import type { HavenPaths } from '../config/haven-paths.js';
import { ActivationFailures, mainFileMtime } from './activation-failures.js';
import { createPluginLogger } from '../util/logger.js';
import { SecretStore } from '../secrets/secret-store.js';
import { pluginSecrets, pluginStoragePath } from './plugin-state.js';

/**
 * - `ready`: enabled, code not loaded yet (it loads when needed)
 * - `active`: code loaded and activated
 * - `disabled`: an administrator disabled it
 * - `failed`: loading or activating threw (error kept, also across commands: it is tried
 *   again when needed, and the record goes once it activates or its code changes)
 * - `incompatible`: its engines.haven range does not accept this host's API version
 * - `invalid`: its manifest cannot be used
 * - `conflict`: it contributes a provider type another plugin already contributes
 * - `shadowed`: another plugin with the same id was found earlier in the lookup order
 */
export type PluginState = 'ready' | 'active' | 'disabled' | 'failed' | 'incompatible' | 'invalid' | 'conflict' | 'shadowed';

export interface PluginInfo {
  id: string;
  displayName: string;
  version: string;
  description?: string;
  dir: string;
  origin: DiscoveredPlugin['origin'];
  engines: string;
  state: PluginState;
  /** Why the plugin is not usable, in a sentence. */
  reason?: string;
  disabledBy?: { by: string; at: string };
  storageProviders: Array<StorageProviderContribution & { available: boolean }>;
  sourceHandlers: Array<{ id: string; description: string; available: boolean }>;
  activationEvents: string[];
  tapFailures: TapFailure[];
}

interface PluginEntry {
  info: PluginInfo;
  pkg?: PluginPackage;
  module?: PluginModule;
  subscriptions: Disposable[];
  activation?: Promise<void>;
  /** Activation failed in this process (a failure recorded by an earlier one is tried again). */
  failedHere?: boolean;
  /** The plugin's main file and its mtime, for the failure record. */
  main?: { file: string; mtimeMs: number | undefined };
}

export interface PluginHost {
  /** Every plugin found, usable or not, in lookup order. */
  list(): Promise<PluginInfo[]>;
  info(id: string): Promise<PluginInfo>;
  /** The provider for a destination type, activating its plugin if needed. */
  storageProvider(type: string): Promise<StorageProvider>;
  /** What the manifest declares for a destination type (its credentials, …), without activating anything. */
  storageContribution(type: string): Promise<StorageProviderContribution | undefined>;
  /** Activates plugins that want to see every run (onRun, onStartup, source handlers). */
  activateForRun(): Promise<void>;
  /** Activates `onStartup` plugins (those whose taps must see every command, e.g. authorization). */
  activateOnStartup(): Promise<void>;
  /** Deactivates every active plugin and undoes its registrations. */
  deactivateAll(): Promise<void>;
  /**
   * Where plugins' run requests go (PluginContext.runs): set by a service whose scheduler
   * serves the tasks; without it, plugins get no `runs`.
   */
  setRunRequester(requester: ((filter: RunRequestFilter) => Promise<number>) | undefined): void;
  /**
   * Deactivates what is active and forgets what was loaded, so the next call re-reads manifests
   * and settings. (Also done by itself when a plugin folder or the settings changed on disk: a
   * long-running service sees plugins installed, removed, enabled or disabled by others.)
   */
  reset(): Promise<void>;
}

@injectable()
export class PluginHostImpl implements PluginHost {
  private entries?: Promise<Map<string, PluginEntry>>;
  private readonly tapFailures: TapFailure[] = [];
  private readonly failures: ActivationFailures;
  private readonly secrets: SecretStore;

  constructor(
    @inject(PluginDiscoveryId) private readonly discovery: PluginDiscovery,
    @inject(SettingsId) private readonly settings: SystemSettingsStore,
    @inject(RegistryId) private readonly registry: StorageProviderRegistry,
    @inject(HookSetId) private readonly hooks: HookSet,
    @inject(HavenPathsId) private readonly paths: HavenPaths,
  ) {
    this.failures = new ActivationFailures(path.join(paths.home, 'plugin-failures.json'));
    this.secrets = new SecretStore(paths);
  }

  private runRequester?: (filter: RunRequestFilter) => Promise<number>;

  setRunRequester(requester: ((filter: RunRequestFilter) => Promise<number>) | undefined): void {
    this.runRequester = requester;
  }

  /** PluginContext.runs: checks what a plugin asks, then hands it to the service's scheduler. */
  private pluginRuns(pluginId: string): PluginRuns | undefined {
    const requester = this.runRequester;
    if (!requester) return undefined;
    return {
      requestRuns: async (filter) => {
        if (filter?.trigger !== 'on-connect') throw new TypeError(`plugin "${pluginId}": requestRuns accepts only the trigger "on-connect"`);
        if (typeof filter.reason !== 'string' || !filter.reason) throw new TypeError(`plugin "${pluginId}": requestRuns needs a reason`);
        return requester({ ...filter, reason: `plugin ${pluginId}: ${filter.reason}` });
      },
    };
  }

  async reset(): Promise<void> {
    await this.deactivateAll();
    this.entries = undefined;
    this.builtFrom = undefined;
  }

  /** What the loaded entries were read from: the plugin folders' and the settings file's change times. */
  private builtFrom?: string;

  private onDisk(): string {
    const files = [...this.paths.pluginFolders.map((f) => f.dir), this.paths.systemSettingsFile];
    return files.map((file) => {
      try {
        return String(statSync(file).mtimeMs);
      } catch {
        return '-';
      }
    }).join(' ');
  }

  async list(): Promise<PluginInfo[]> {
    return [...(await this.load()).values()].map((e) => e.info);
  }

  async info(id: string): Promise<PluginInfo> {
    const entry = (await this.load()).get(id);
    if (!entry) throw new UsageError(`no plugin "${id}" (see "haven plugins list")`);
    return entry.info;
  }

  /** The plugin that serves a destination type: not one shadowed by, or in conflict with, another. */
  private ownerOf(entries: Map<string, PluginEntry>, type: string): PluginEntry | undefined {
    return [...entries.values()].find((e) =>
      e.info.state !== 'shadowed' && e.info.state !== 'conflict' && e.info.storageProviders.some((p) => p.type === type),
    );
  }

  async storageContribution(type: string): Promise<StorageProviderContribution | undefined> {
    return this.ownerOf(await this.load(), type)?.info.storageProviders.find((p) => p.type === type);
  }

  async storageProvider(type: string): Promise<StorageProvider> {
    const entries = await this.load();
    const owner = this.ownerOf(entries, type);
    if (!owner) {
      const known = [...entries.values()].flatMap((e) => e.info.storageProviders.map((p) => p.type));
      throw new ProviderNotInstalledError(`unknown destination type "${type}": storage provider "${type}" is not installed (known: ${known.join(', ') || 'none'})`);
    }
    const { info } = owner;
    if (info.state === 'disabled') {
      throw new SkippedError(`storage provider "${type}" (plugin "${info.id}") was disabled by an administrator${info.disabledBy ? ` (${info.disabledBy.by}, ${info.disabledBy.at})` : ''}`);
    }
    if (info.state === 'incompatible' || info.state === 'invalid') {
      throw new SkippedError(`storage provider "${type}" cannot be used: plugin "${info.id}" ${info.reason}`);
    }
    const contribution = info.storageProviders.find((p) => p.type === type)!;
    if (!contribution.available) {
      throw new SkippedError(`storage provider "${type}" is not available yet in this version of Haven (plugin "${info.id}" declares it but does not implement it)`);
    }
    await this.activate(owner);
    const provider = this.registry.get(type);
    if (!provider) throw new SkippedError(`plugin "${info.id}" was activated but registered no "${type}" provider`);
    return provider;
  }

  async activateForRun(): Promise<void> {
    await this.activateWhere((events, entry) =>
      events.includes('onRun') || events.includes('onStartup') || entry.info.sourceHandlers.some((h) => h.available && events.includes(`onSourceHandler:${h.id}`)),
    );
  }

  async activateOnStartup(): Promise<void> {
    await this.activateWhere((events) => events.includes('onStartup'));
  }

  /** Activates the usable plugins whose activation events `wanted` accepts; one that fails is recorded, the rest go on. */
  private async activateWhere(wanted: (events: string[], entry: PluginEntry) => boolean): Promise<void> {
    for (const entry of (await this.load()).values()) {
      if (wanted(entry.info.activationEvents, entry) && (entry.info.state === 'ready' || (entry.info.state === 'failed' && !entry.failedHere))) {
        await this.activate(entry).catch(() => undefined);
      }
    }
  }

  async deactivateAll(): Promise<void> {
    if (!this.entries) return;
    for (const entry of (await this.entries).values()) {
      if (entry.info.state !== 'active') continue;
      try {
        await entry.module?.deactivate?.();
      } catch {
        // A plugin failing to clean up must not stop the others from doing so.
      }
      for (const d of entry.subscriptions.splice(0).reverse()) d.dispose();
      entry.info.state = 'ready';
      entry.activation = undefined;
    }
  }

  private async load(): Promise<Map<string, PluginEntry>> {
    const now = this.onDisk();
    if (this.entries && this.builtFrom !== now) await this.reset();
    if (!this.entries) {
      this.builtFrom = now;
      this.entries = this.build();
    }
    return this.entries;
  }

  private async build(): Promise<Map<string, PluginEntry>> {
    const settings = await this.settings.read();
    const disabled = new Map(settings.disabledPlugins.map((d) => [d.id, d]));
    const failures = await this.failures.read();
    const entries = new Map<string, PluginEntry>();
    const providerOwners = new Map<string, PluginEntry>();
    let invalidCount = 0;

    for (const found of this.discovery.discover()) {
      if (!found.pkg) {
        // No usable id: key it by its folder so it still shows in the list with its problems.
        const id = `invalid:${path.basename(found.dir)}${invalidCount++ ? `#${invalidCount}` : ''}`;
        entries.set(id, {
          subscriptions: [],
          info: {
            id, displayName: path.basename(found.dir), version: '', dir: found.dir, origin: found.origin, engines: '',
            state: 'invalid', reason: `has an invalid manifest: ${found.problems!.join('; ')}`,
            storageProviders: [], sourceHandlers: [], activationEvents: [], tapFailures: [],
          },
        });
        continue;
      }
      const { pkg } = found;
      const m = pkg.haven;
      const info: PluginInfo = {
        id: m.id,
        displayName: m.displayName,
        version: pkg.version,
        description: m.description,
        dir: found.dir,
        origin: found.origin,
        engines: pkg.engines.haven,
        state: 'ready',
        storageProviders: (m.contributes.storageProviders ?? []).map((p) => ({ ...p, available: p.available !== false })),
        sourceHandlers: (m.contributes.sourceHandlers ?? []).map((h) => ({ ...h, available: h.available !== false })),
        activationEvents: m.activationEvents,
        tapFailures: this.tapFailures.filter((f) => f.pluginId === m.id),
      };
      const mainFile = path.resolve(found.dir, pkg.main);
      const entry: PluginEntry = { info, pkg, subscriptions: [], main: { file: mainFile, mtimeMs: await mainFileMtime(mainFile) } };
      const earlier = entries.get(m.id);
      if (earlier) {
        info.state = 'shadowed';
        info.reason = `plugin id "${m.id}" is already provided by ${earlier.info.dir}`;
        entries.set(`${m.id}@${found.dir}`, entry);
        continue;
      }
      entries.set(m.id, entry);
      const incompatibility = apiIncompatibility(pkg.engines.haven);
      if (incompatibility) {
        info.state = 'incompatible';
        info.reason = incompatibility;
        continue;
      }
      const clash = info.storageProviders.map((p) => [p.type, providerOwners.get(p.type)] as const).find(([, owner]) => owner);
      if (clash) {
        const [type, owner] = clash;
        info.state = 'conflict';
        info.reason = `storage provider type "${type}" is contributed by both "${owner!.info.id}" (${owner!.info.dir}) and "${m.id}" (${found.dir}); "${m.id}" was not loaded`;
        continue;
      }
      for (const p of info.storageProviders) providerOwners.set(p.type, entry);
      const off = disabled.get(m.id);
      if (off) {
        info.state = 'disabled';
        info.reason = `disabled by an administrator (${off.by}, ${off.at})`;
        info.disabledBy = { by: off.by, at: off.at };
        continue;
      }
      const failure = failures[m.id];
      if (ActivationFailures.matches(failure, info, entry.main!.mtimeMs)) {
        info.state = 'failed';
        info.reason = `failed to load: ${failure.message} (at ${failure.at}; tried again when needed)`;
      }
    }
    return entries;
  }

  private activate(entry: PluginEntry): Promise<void> {
    if (entry.info.state === 'active') return Promise.resolve();
    if (entry.failedHere) return Promise.reject(this.failure(entry));
    entry.activation ??= this.doActivate(entry).then(
      async () => {
        await this.failures.clear(entry.info.id).catch(() => undefined);
      },
      async (err: unknown) => {
        for (const d of entry.subscriptions.splice(0).reverse()) d.dispose();
        const message = err instanceof Error ? err.message : String(err);
        entry.failedHere = true;
        entry.info.state = 'failed';
        entry.info.reason = `failed to load: ${message}`;
        const { version, dir } = entry.info;
        await this.failures.record(entry.info.id, { version, dir, mainMtimeMs: entry.main?.mtimeMs ?? 0, message, at: new Date().toISOString() }).catch(() => undefined);
        throw this.failure(entry);
      },
    );
    return entry.activation;
  }

  private failure(entry: PluginEntry): PluginFailedError {
    return new PluginFailedError(`plugin "${entry.info.id}" ${entry.info.reason}`);
  }

  private async doActivate(entry: PluginEntry): Promise<void> {
    const { info, pkg } = entry;
    const mainFile = entry.main?.file ?? path.resolve(info.dir, pkg!.main);
    const mod = (await import(pathToFileURL(mainFile).href)) as Partial<PluginModule>;
    if (typeof mod.activate !== 'function') throw new Error(`${mainFile} exports no activate() function`);
    entry.module = mod as PluginModule;
    const contributes = new Set(info.storageProviders.map((p) => p.type));
    const handlers = new Set(info.sourceHandlers.map((h) => h.id));
    const track = (d: Disposable) => entry.subscriptions.push(d);
    const paths = this.paths;
    const context: PluginContext = {
      apiVersion: PLUGIN_API_VERSION,
      pluginId: info.id,
      pluginPath: info.dir,
      subscriptions: entry.subscriptions,
      hooks: createPluginHooks(this.hooks, info.id, this.tapFailures, track),
      log: createPluginLogger(info.id),
      registerStorageProvider: (provider) => {
        if (!contributes.has(provider.type)) {
          throw new Error(`plugin "${info.id}" registers storage provider "${provider.type}", which its manifest does not contribute`);
        }
        const d = this.registry.register(info.id, provider);
        track(d);
        return d;
      },
      registerSourceHandler: (handler) => {
        if (!handlers.has(handler.id)) {
          throw new Error(`plugin "${info.id}" registers source handler "${handler.id}", which its manifest does not contribute`);
        }
        // Handlers act through the scan/copy hooks; the registration is kept for disposal symmetry.
        const d = { dispose() {} };
        track(d);
        return d;
      },
      // A getter, so a plugin that keeps no state leaves no empty folder behind.
      get storagePath() {
        return pluginStoragePath(paths, info.id);
      },
      secrets: pluginSecrets(this.secrets, info.id),
      runs: this.pluginRuns(info.id),
    };
    await mod.activate(context);
    info.state = 'active';
  }
}
