/**
 * A repository's life outside backups: creating it (exclusively: of many processes or hosts
 * starting at once against one new destination, exactly one config wins and the others open
 * what it made), opening it (telling a wrong password from a damaged key, and a repository
 * that never existed from one whose config was lost), and rebuilding a lost config.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RepositoryStore } from '../storage/repository-store.js';
import {
  HavenError,
  RepositoryCorruptError,
  RepositoryExistsError,
  RepositoryNotFoundError,
  UsageError,
  WrongPasswordError,
} from '../errors.js';
import { BlobCipher, DEFAULT_SCRYPT, Decompressor, newMasterKeys, openMeta, type MasterKeys, type ScryptParams } from './crypto.js';
import { openKeyFile, sealKeyFile } from './key-file.js';
import {
  CONFIG_COPY_NAME,
  CONFIG_NAME,
  configMacMatches,
  newRepoConfig,
  parseConfig,
  plainKeys,
  serializeConfig,
  type RepoConfig,
} from './repo-config.js';
import { Repository, isNotFound, randomName } from './repository.js';

/**
 * How long a store without `putIfAbsent` waits after writing the config before reading it back
 * to see whose config stayed (the last writer's). Creations that start further apart than this
 * see the config and open it instead.
 */
export const DEFAULT_CREATE_SETTLE_MS = 1500;
/** How long an unreadable config is given to become whole before it is called unreadable. */
const CONFIG_REREAD_MS = 300;

export interface CreateOptions {
  scrypt?: ScryptParams;
  /** For stores without putIfAbsent; see DEFAULT_CREATE_SETTLE_MS. */
  settleMs?: number;
}

export async function repositoryExists(store: RepositoryStore): Promise<boolean> {
  return (await store.stat(CONFIG_NAME)) !== null;
}

/** What a destination holds of a repository besides its config (null: nothing). */
export interface RepositoryData {
  snapshots: number;
  indexes: number;
  packs: number;
  configCopy: boolean;
}

export async function findRepositoryData(store: RepositoryStore): Promise<RepositoryData | null> {
  const data: RepositoryData = {
    snapshots: (await store.list('snapshots/')).length,
    indexes: (await store.list('index/')).length,
    packs: 0,
    configCopy: (await store.stat(CONFIG_COPY_NAME)) !== null,
  };
  // Packs only when nothing smaller answered: listing them can be long.
  if (!data.snapshots && !data.indexes && !data.configCopy) data.packs = (await store.list('data/')).length;
  // Keys alone are not data: an abandoned or racing creation leaves one, nothing is lost.
  return data.snapshots || data.indexes || data.packs || data.configCopy ? data : null;
}

function missingConfigError(store: RepositoryStore, data: RepositoryData): RepositoryCorruptError {
  const held = [
    data.snapshots && `${data.snapshots} version(s)`,
    data.indexes && `${data.indexes} index blob(s)`,
    data.packs && `${data.packs} pack(s)`,
    data.configCopy && 'a copy of the config',
  ].filter(Boolean);
  return new RepositoryCorruptError(
    `${store.description} holds a Haven repository (${held.join(', ')}) but its config file is missing; ` +
      'nothing was created over it. Rebuild the config with `haven repair config` (it needs the repository password)',
  );
}

/** The config, parsed, and its bytes as stored. */
async function readConfig(store: RepositoryStore): Promise<{ config: RepoConfig; raw: Buffer }> {
  let raw: Buffer;
  try {
    raw = await store.get(CONFIG_NAME);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const data = await findRepositoryData(store);
    if (data) throw missingConfigError(store, data);
    throw new RepositoryNotFoundError(`no Haven repository at ${store.description}`);
  }
  try {
    return { config: parseConfig(raw, store.description), raw };
  } catch (err) {
    if (!(err instanceof RepositoryNotFoundError)) throw err;
    // On a file system without hard links a config being created is visible before it is
    // whole (see LocalBlobStore.putIfAbsent): look once more before calling it unreadable.
    await sleep(CONFIG_REREAD_MS);
    raw = await store.get(CONFIG_NAME);
    return { config: parseConfig(raw, store.description), raw };
  }
}

/**
 * Opens the master keys with the password: the first key file that opens and names `repoId`
 * (any repository when null) wins. No key opens: a wrong password — unless some key file is
 * damaged, which is then said, since it may be the one this password opens.
 */
async function unlockKeys(store: RepositoryStore, repoId: string | null, password: string, accept: (keys: MasterKeys, repo: string) => Promise<boolean> = async () => true): Promise<{ keys: MasterKeys; repo: string; created: string }> {
  const list = await store.list('keys/');
  if (list.length === 0) throw new RepositoryCorruptError(`the repository at ${store.description} has no key files (keys/ is empty or missing)`);
  const damaged: string[] = [];
  for (const info of list.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    let raw: Buffer;
    try {
      raw = await store.get(info.name);
    } catch (err) {
      if (isNotFound(err)) continue; // a losing creation removed its key meanwhile
      throw err;
    }
    const outcome = await openKeyFile(raw, password);
    if (outcome.kind === 'damaged') damaged.push(`${info.name} (${outcome.reason})`);
    if (outcome.kind !== 'opened') continue;
    if (repoId !== null && outcome.repo !== repoId) continue;
    if (!(await accept(outcome.keys, outcome.repo))) continue;
    return outcome;
  }
  if (damaged.length) {
    throw new RepositoryCorruptError(
      `the key file${damaged.length > 1 ? 's' : ''} ${damaged.join(', ')} of the repository at ${store.description} ${damaged.length > 1 ? 'are' : 'is'} damaged` +
        (damaged.length < list.length ? ', and no other key file opens with this password' : '') +
        '; a key file cannot be rebuilt: use another password of this repository if it has one',
    );
  }
  throw new WrongPasswordError(`wrong password for the repository at ${store.description}`);
}

async function keysFor(store: RepositoryStore, config: RepoConfig, password: string | null): Promise<MasterKeys> {
  if (config.encryption === 'none') {
    if (password !== null) {
      throw new UsageError(`the repository at ${store.description} is not encrypted, but a password was given; drop the password (or use --no-encryption)`);
    }
    const keys = plainKeys(config);
    if (!keys) throw new RepositoryCorruptError('the config of an unencrypted repository lacks its secrets');
    return keys;
  }
  if (password === null) {
    throw new UsageError(`the repository at ${store.description} is encrypted: a password is needed (--password-file or HAVEN_PASSWORD)`);
  }
  return (await unlockKeys(store, config.id, password)).keys;
}

/** Opens a repository (derives the key once) and loads its index. */
export async function openRepository(store: RepositoryStore, password: string | null): Promise<Repository> {
  const { config, raw } = await readConfig(store);
  const keys = await keysFor(store, config, password);
  if (!configMacMatches(config, keys.macKey)) {
    throw new RepositoryCorruptError('the repository config does not match its keys (tampered or damaged config)');
  }
  const repo = Repository.attach(store, config, keys, raw);
  await repo.loadIndex();
  return repo;
}

/**
 * Writes the config only if there is none; true when this process's config is the one that
 * stayed. Exclusive where the store can create exclusively; otherwise write, wait, read back.
 */
async function claimConfig(store: RepositoryStore, bytes: Buffer, settleMs: number): Promise<boolean> {
  if (store.putIfAbsent) {
    if (await store.putIfAbsent(CONFIG_NAME, bytes)) return true;
    // A retried call finds the config its own first attempt wrote: that is a win too.
    const now = await store.get(CONFIG_NAME).catch(() => null);
    return now !== null && now.equals(bytes);
  }
  if (await repositoryExists(store)) return false;
  await store.put(CONFIG_NAME, bytes);
  await sleep(settleMs);
  const now = await store.get(CONFIG_NAME).catch(() => null);
  return now !== null && now.equals(bytes);
}

/**
 * Creates a repository; `password: null` means unencrypted (explicit --no-encryption).
 * Throws RepositoryExistsError when a config exists or another process created one first.
 */
export async function initRepository(store: RepositoryStore, password: string | null, options: CreateOptions = {}): Promise<Repository> {
  if (password === '') throw new UsageError('the repository password must not be empty');
  if (await repositoryExists(store)) throw new RepositoryExistsError(`a repository already exists at ${store.description}`);
  const data = await findRepositoryData(store);
  if (data) {
    // A racing creator may have finished (config, copy, even a first version) since we looked.
    if (await repositoryExists(store)) throw new RepositoryExistsError(`another process created the repository at ${store.description} first`);
    throw missingConfigError(store, data);
  }
  const keys = newMasterKeys(password !== null);
  const config = newRepoConfig(keys);
  const bytes = serializeConfig(config);
  // The key goes first: once a config is visible, the key that opens it must be too.
  const keyName = password !== null ? `keys/${randomName()}` : null;
  if (keyName) await store.put(keyName, await sealKeyFile(keys, config.id, password!, options.scrypt ?? DEFAULT_SCRYPT));
  if (!(await claimConfig(store, bytes, options.settleMs ?? DEFAULT_CREATE_SETTLE_MS))) {
    if (keyName) await store.delete(keyName).catch(() => undefined);
    throw new RepositoryExistsError(`another process created the repository at ${store.description} first`);
  }
  // A second copy, for `repair config` (an unencrypted repository's secrets live only there).
  await store.put(CONFIG_COPY_NAME, bytes);
  return Repository.attach(store, config, keys, bytes);
}

/** Opens the repository, or creates it when there is none (the first backup of a task). */
export async function openOrInitRepository(store: RepositoryStore, password: string | null, options: CreateOptions = {}): Promise<Repository> {
  if (await repositoryExists(store)) return openSettled(store, password, options);
  try {
    return await initRepository(store, password, options);
  } catch (err) {
    // Lost the race: the winner's repository is the one to use (same password or exit 12).
    if (err instanceof RepositoryExistsError) return openSettled(store, password, options);
    throw err;
  }
}

/**
 * Opens a repository. On a store without exclusive create, a config younger than the settle
 * time may still be replaced by a racing creator's: wait that long and open again if it was.
 */
async function openSettled(store: RepositoryStore, password: string | null, options: CreateOptions): Promise<Repository> {
  const repo = await openRepository(store, password);
  const settleMs = options.settleMs ?? DEFAULT_CREATE_SETTLE_MS;
  const age = Date.now() - Date.parse(repo.config.created);
  if (store.putIfAbsent || !(age < 2 * settleMs)) return repo;
  await sleep(settleMs);
  const now = parseConfig(await store.get(CONFIG_NAME), store.description);
  if (now.id === repo.id) return repo;
  await repo.close();
  return openRepository(store, password);
}

export interface ConfigRepair {
  /** Where the config came from: its second copy, or rebuilt from a key file. */
  source: 'copy' | 'key';
  id: string;
}

/** Whether these keys open the repository's own metadata (so they belong to it). */
async function keysFitData(store: RepositoryStore, keys: MasterKeys): Promise<boolean> {
  const sample = (await store.list('index/'))[0] ?? (await store.list('snapshots/'))[0];
  if (!sample) return true;
  try {
    openMeta(new BlobCipher(keys.encKey), new Decompressor(), await store.get(sample.name));
    return true;
  } catch {
    return false;
  }
}

/** Writes a repaired config unless another repair wrote one meanwhile. */
async function restoreConfig(store: RepositoryStore, bytes: Buffer): Promise<void> {
  if (store.putIfAbsent) await store.putIfAbsent(CONFIG_NAME, bytes);
  else await store.put(CONFIG_NAME, bytes);
}

/** `haven repair config`: writes a lost config again, from its copy or from a key file. */
export async function repairConfig(store: RepositoryStore, password: string | null): Promise<ConfigRepair> {
  if (await repositoryExists(store)) throw new UsageError(`the repository at ${store.description} has its config; nothing to repair (see \`haven check\`)`);
  const copy = await store.get(CONFIG_COPY_NAME).catch((err) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (copy) {
    const config = parseConfig(copy, store.description);
    const keys = await keysFor(store, config, password);
    if (!configMacMatches(config, keys.macKey)) throw new RepositoryCorruptError(`the copy of the config (${CONFIG_COPY_NAME}) does not match the repository's keys`);
    await restoreConfig(store, copy);
    return { source: 'copy', id: config.id };
  }
  if (password === null) {
    throw new HavenError(
      `the config of the repository at ${store.description} cannot be rebuilt without a password: an unencrypted repository keeps its content keys only in the config and its copy, and both are gone`,
    );
  }
  const opened = await unlockKeys(store, null, password, (keys) => keysFitData(store, keys));
  const config = newRepoConfig(opened.keys, { id: opened.repo, created: opened.created });
  const bytes = serializeConfig(config);
  await restoreConfig(store, bytes);
  await store.put(CONFIG_COPY_NAME, bytes);
  return { source: 'key', id: config.id };
}
