/**
 * Opening a task's repository: resolve the provider (activating its plugin), check the
 * destination is reachable, read the password from the environment or the task's password
 * file and the provider's credentials (provider-credentials.ts), then open (or, for a first
 * backup, create) the repository.
 */
import { inject, injectable } from 'inversify';
import type { BlobStore, StorageProvider } from '@haven/plugin-api';
import type { RepositoryStore } from '../storage/repository-store.js';
import type { CallerEnvironment } from '../auth/caller.js';
import { PluginHost as PluginHostId, ProviderCredentials as ProviderCredentialsId } from '../di/service-identifiers.js';
import type { ProviderCredentials } from '../credentials/provider-credentials.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { holdsRepositoryData, openOrInitRepository, openRepository, repositoryExists, type Repository } from '../engine/index.js';
import { RepositoryNotFoundError, SkippedError, UsageError } from '../errors.js';
import { parseDestination, type Task } from './task.js';
import { PASSWORD_FILE_RULES } from './password-file.js';
import { readPrivateFile } from '../util/private-file.js';
import { RetryingBlobStore } from '../storage/retrying-store.js';
import { openProviderStore, providerAvailability } from '../storage/provider-calls.js';

export interface OpenedStore {
  store: RepositoryStore;
  password: string | null;
}

export interface OpenOptions {
  /** Create the repository when there is none (a task's run; every other command only opens). */
  create: boolean;
  /** The caller's environment: `HAVEN_PASSWORD` and the provider's credential variables. */
  env: CallerEnvironment;
  /**
   * With `create`: why a repository should already be there (e.g. this task made a version
   * there). Finding none is then refused — the drive may be unplugged at its mount point, or
   * the folder moved — instead of starting a new, empty repository in its place.
   */
  expectRepository?: string;
  /** Aborts every store call (Ctrl-C, the service stopping). */
  signal?: AbortSignal;
}

export interface RepositoryService {
  /** Opens the repository (creating it when `create` and there is none). */
  open(task: Task, options: OpenOptions): Promise<Repository>;
  /** The task's destination as a blob store, and its password: for what cannot open the repository (repair config). */
  openStore(task: Task, options: OpenOptions): Promise<OpenedStore>;
}

/** The repository password, never from the command line (cli.md). */
export async function resolvePassword(task: Pick<Task, 'encryption' | 'passwordFile' | 'name'>, env: CallerEnvironment): Promise<string | null> {
  if (task.encryption === 'none') return null;
  const fromEnv = env.HAVEN_PASSWORD;
  if (fromEnv) return fromEnv;
  if (task.passwordFile) {
    let text: string;
    try {
      text = (await readPrivateFile(task.passwordFile, PASSWORD_FILE_RULES)).toString('utf8');
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`cannot read the password file ${task.passwordFile} of task "${task.name}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const password = text.replace(/\r?\n$/, '');
    if (!password) throw new UsageError(`the password file ${task.passwordFile} is empty`);
    return password;
  }
  throw new UsageError(`task "${task.name}" has an encrypted repository: give its password with HAVEN_PASSWORD or the task's --password-file`);
}

@injectable()
export class RepositoryServiceImpl implements RepositoryService {
  constructor(
    @inject(PluginHostId) private readonly plugins: PluginHost,
    @inject(ProviderCredentialsId) private readonly credentials: ProviderCredentials,
  ) {}

  async openStore(task: Task, options: OpenOptions): Promise<OpenedStore> {
    const { store, password } = await this.openDestination(task, options);
    return { store, password };
  }

  /** The destination's store, wrapped (the core retries and cancels around every call), and its password. */
  private async openDestination(task: Task, options: OpenOptions): Promise<OpenedStore & { exists?: boolean }> {
    const { type, location } = parseDestination(task.destination);
    const provider = await this.plugins.storageProvider(type);
    const availability = await providerAvailability(provider, location);
    if (!availability.available) throw new SkippedError(`destination ${task.destination} is not available: ${availability.reason}`);
    const password = await resolvePassword(task, options.env);
    const credentials = await this.credentials.forDestination(provider, location, options.env);
    return { ...(await this.openLocation(provider, location, options, credentials)), password };
  }

  /**
   * `create` reaches the provider only when there is no repository yet (a task's first
   * backup): a run first opens without it, and asks again with it only if that failed or found
   * no repository. `exists` says what that first look found (undefined: not looked).
   */
  private async openLocation(
    provider: StorageProvider,
    location: string,
    options: OpenOptions,
    credentials: Record<string, string> | undefined,
  ): Promise<{ store: RetryingBlobStore; exists?: boolean }> {
    const wrap = (store: BlobStore) => new RetryingBlobStore(store, options.signal);
    if (!options.create) return { store: wrap(await openProviderStore(provider, location, { create: false, credentials })) };
    const existing = await openProviderStore(provider, location, { create: false, credentials }).then(wrap, (err: unknown) => {
      // Where a repository is expected, only "the location is not there" is an answer; a
      // refusal (credentials, rights) or an outage is reported as it is.
      if (options.expectRepository && (err as { code?: unknown })?.code !== 'ENOENT') throw err;
      return null;
    });
    if (existing) {
      // A store that cannot be read fails here: it is never taken for an empty one.
      const keep = await (async () => {
        if (await repositoryExists(existing)) return true;
        // Data without a config is a damaged repository: opening it says so, nothing is created over it.
        return options.expectRepository !== undefined && (await holdsRepositoryData(existing));
      })().catch(async (err: unknown) => {
        await existing.close().catch(() => undefined);
        throw err;
      });
      if (keep) return { store: existing, exists: true };
      await existing.close().catch(() => undefined);
    }
    if (options.expectRepository) {
      throw new SkippedError(
        `${provider.type}:${location} holds no repository, but ${options.expectRepository}: is its drive unplugged, or was the folder moved or deleted? ` +
          'Nothing was written. To start a new repository there, run the task with --new-repository',
      );
    }
    return { store: wrap(await openProviderStore(provider, location, { create: true, credentials })), exists: false };
  }

  async open(task: Task, options: OpenOptions): Promise<Repository> {
    const { store, password, exists } = await this.openDestination(task, options);
    try {
      // A repository not there at the first look may be created meanwhile: openOrInit looks again.
      if (options.create && !exists) return await openOrInitRepository(store, { password });
      return await openRepository(store, { password });
    } catch (err) {
      if (err instanceof RepositoryNotFoundError && !options.create) {
        await store.close().catch(() => undefined);
        throw new RepositoryNotFoundError(`there is no repository at ${task.destination} yet (run the task first)`);
      }
      await store.close().catch(() => undefined);
      throw err;
    }
  }
}
