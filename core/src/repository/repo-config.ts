/**
 * The repository `config`: public parameters in plaintext JSON, MAC'd with the content-hash
 * key so that a changed or swapped config is refused. See docs/repository-format.md.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { HavenError, RepositoryNotFoundError } from '../errors.js';
import { DEFAULT_CHUNKER, type ChunkerParams } from './chunker.js';
import { CIPHER_ALGORITHM, HASH_ALGORITHM, type MasterKeys } from './crypto.js';

export const FORMAT_NAME = 'haven-repository';
export const FORMAT_VERSION = 1;
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
/** zstd level of new repositories (recorded in the config; older ones keep theirs). */
export const DEFAULT_ZSTD_LEVEL = 3;

/** The blob names of the config and of its second copy (kept for `repair config`). */
export const CONFIG_NAME = 'config';
export const CONFIG_COPY_NAME = 'config.copy';

export interface RepoConfig {
  format: string;
  version: number;
  id: string;
  created: string;
  encryption: 'aes-256-gcm' | 'none';
  hash: string;
  compression: { algorithm: 'zstd'; level: number };
  chunker: ChunkerParams;
  packSize: number;
  /** Unencrypted repositories only: the content-hash key and chunker seed (hex). */
  secrets?: { macKey: string; chunkerSeed: string };
  /** HMAC-SHA256 (content-hash key) of the config without this field. */
  mac?: string;
}

function configMac(macKey: Buffer, cfg: RepoConfig): string {
  const { mac: _mac, ...rest } = cfg;
  return createHmac('sha256', macKey).update(JSON.stringify(rest)).digest('hex');
}

/** A config for these keys, MAC'd. `id` and `created` are given when a config is rebuilt. */
export function newRepoConfig(keys: MasterKeys, given: { id?: string; created?: string } = {}): RepoConfig {
  const config: RepoConfig = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    id: given.id ?? randomBytes(16).toString('hex'),
    created: given.created ?? new Date().toISOString(),
    encryption: keys.encKey ? CIPHER_ALGORITHM : 'none',
    hash: HASH_ALGORITHM,
    compression: { algorithm: 'zstd', level: DEFAULT_ZSTD_LEVEL },
    chunker: { ...DEFAULT_CHUNKER },
    packSize: DEFAULT_PACK_SIZE,
  };
  if (!keys.encKey) config.secrets = { macKey: keys.macKey.toString('hex'), chunkerSeed: keys.chunkerSeed.toString('hex') };
  config.mac = configMac(keys.macKey, config);
  return config;
}

export function serializeConfig(config: RepoConfig): Buffer {
  return Buffer.from(JSON.stringify(config, null, 2) + '\n');
}

/** Parses a config blob and checks it is one this Haven can read (not yet its MAC). */
export function parseConfig(raw: Buffer, where: string): RepoConfig {
  let config: RepoConfig;
  try {
    config = JSON.parse(raw.toString('utf8')) as RepoConfig;
  } catch {
    throw new RepositoryNotFoundError(`${where} does not hold a Haven repository (unreadable config)`);
  }
  if (!config || config.format !== FORMAT_NAME) throw new RepositoryNotFoundError(`${where} does not hold a Haven repository`);
  if (config.version !== FORMAT_VERSION) throw new HavenError(`repository format version ${config.version} is not supported by this Haven`);
  if (config.hash !== HASH_ALGORITHM) throw new HavenError(`repository content hash "${config.hash}" is not supported`);
  if (config.encryption !== 'none' && config.encryption !== CIPHER_ALGORITHM) {
    throw new HavenError(`repository encryption "${config.encryption}" is not supported`);
  }
  return config;
}

/** The keys of an unencrypted repository, which its config carries. */
export function plainKeys(config: RepoConfig): MasterKeys | null {
  if (!config.secrets) return null;
  return { encKey: null, macKey: Buffer.from(config.secrets.macKey, 'hex'), chunkerSeed: Buffer.from(config.secrets.chunkerSeed, 'hex') };
}

export function configMacMatches(config: RepoConfig, macKey: Buffer): boolean {
  const mac = configMac(macKey, config);
  return typeof config.mac === 'string' && config.mac.length === mac.length && timingSafeEqual(Buffer.from(mac), Buffer.from(config.mac));
}
