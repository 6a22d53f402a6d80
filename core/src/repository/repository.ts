/**
 * A Haven repository on a BlobStore: config, keys, index, blob reads, sealed metadata blobs,
 * pack writing.
 *
 * Layout (see docs/repository-format.md):
 *   config                 plaintext JSON (public parameters, MAC'd with the content-hash key)
 *   keys/<id>              master keys wrapped with an scrypt-derived key
 *   data/<xx>/<packId>     packs
 *   index/<id>             index blobs (sealed)
 *   snapshots/<id>         snapshot records (sealed JSON)
 *   locks/<id>             locks (sealed JSON)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as os from 'node:os';
import type { BlobStore } from '../api/storage.js';
import { HavenError, RepositoryCorruptError, RepositoryNotFoundError, UsageError, WrongPasswordError } from '../errors.js';
import { DEFAULT_CHUNKER, type ChunkerParams } from './chunker.js';
import {
  BlobCipher,
  CIPHER_ALGORITHM,
  Compressor,
  DEFAULT_SCRYPT,
  Decompressor,
  FLAG_RAW,
  HASH_ALGORITHM,
  IntegrityError,
  blobId,
  deriveKey,
  newMasterKeys,
  openMeta,
  sealMeta,
  type MasterKeys,
  type ScryptParams,
} from './crypto.js';
import { MasterIndex, decodeIndex, encodeIndex, type PackInfo } from './index.js';
import { BlobType, newPackId, packBlobName, packTrailer, type PackEntry } from './pack.js';
import { parseTree, type Tree } from './tree.js';
import type { Snapshot } from './snapshot.js';

export const FORMAT_NAME = 'haven-repository';
export const FORMAT_VERSION = 1;

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

interface KeyFile {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  created: string;
  host: string;
  user: string;
  /** base64 envelope of the JSON master keys, sealed with the derived key. */
  data: string;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
/** zstd level of new repositories (recorded in the config; older ones keep theirs). */
export const DEFAULT_ZSTD_LEVEL = 3;

function configMac(macKey: Buffer, cfg: RepoConfig): string {
  const { mac: _mac, ...rest } = cfg;
  return createHmac('sha256', macKey).update(JSON.stringify(rest)).digest('hex');
}

function randomName(): string {
  return randomBytes(32).toString('hex');
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return !!e && e.code === 'ENOENT';
}

interface Segment {
  pack: string;
  offset: number;
  data: Buffer;
}

export class Repository {
  readonly index = new MasterIndex();
  readonly cipher: BlobCipher;
  readonly compressor: Compressor;
  readonly decompressor = new Decompressor();
  /** Locks held by this handle, released on close(). */
  readonly heldLocks = new Set<string>();
  private segments: Segment[] = [];
  private closed = false;
  /** Hooks run by close() (lock release). */
  readonly closers = new Set<() => Promise<void>>();

  private constructor(
    readonly store: BlobStore,
    readonly config: RepoConfig,
    readonly keys: MasterKeys,
  ) {
    this.cipher = new BlobCipher(keys.encKey);
    this.compressor = new Compressor(config.compression.level);
  }

  get id(): string {
    return this.config.id;
  }

  get encrypted(): boolean {
    return this.keys.encKey !== null;
  }

  static async exists(store: BlobStore): Promise<boolean> {
    return (await store.stat('config')) !== null;
  }

  static async init(store: BlobStore, password: string | null, scrypt: ScryptParams = DEFAULT_SCRYPT): Promise<Repository> {
    if (password === '') throw new UsageError('the repository password must not be empty');
    if (await Repository.exists(store)) throw new UsageError(`a repository already exists at ${store.description}`);
    const keys = newMasterKeys(password !== null);
    const config: RepoConfig = {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      id: randomBytes(16).toString('hex'),
      created: new Date().toISOString(),
      encryption: password !== null ? CIPHER_ALGORITHM : 'none',
      hash: HASH_ALGORITHM,
      compression: { algorithm: 'zstd', level: DEFAULT_ZSTD_LEVEL },
      chunker: { ...DEFAULT_CHUNKER },
      packSize: DEFAULT_PACK_SIZE,
    };
    if (password === null) config.secrets = { macKey: keys.macKey.toString('hex'), chunkerSeed: keys.chunkerSeed.toString('hex') };
    config.mac = configMac(keys.macKey, config);
    if (password !== null) await Repository.writeKey(store, keys, config.id, password, scrypt);
    // The config goes last: a repository "exists" only once its key is stored.
    await store.put('config', Buffer.from(JSON.stringify(config, null, 2) + '\n'));
    return new Repository(store, config, keys);
  }

  private static async writeKey(store: BlobStore, keys: MasterKeys, repoId: string, password: string, params: ScryptParams): Promise<void> {
    const salt = randomBytes(32);
    const wrapKey = await deriveKey(password, salt, params);
    const plain = Buffer.from(
      JSON.stringify({
        repo: repoId,
        encKey: keys.encKey!.toString('base64'),
        macKey: keys.macKey.toString('base64'),
        chunkerSeed: keys.chunkerSeed.toString('base64'),
      }),
    );
    const env = new BlobCipher(wrapKey).seal(FLAG_RAW, plain);
    const file: KeyFile = {
      kdf: 'scrypt',
      N: params.N,
      r: params.r,
      p: params.p,
      salt: salt.toString('base64'),
      created: new Date().toISOString(),
      host: os.hostname(),
      user: safeUser(),
      data: env.toString('base64'),
    };
    await store.put(`keys/${randomName()}`, Buffer.from(JSON.stringify(file, null, 2) + '\n'));
  }

  static async open(store: BlobStore, password: string | null): Promise<Repository> {
    let raw: Buffer;
    try {
      raw = await store.get('config');
    } catch (err) {
      if (isNotFound(err)) throw new RepositoryNotFoundError(`no Haven repository at ${store.description}`);
      throw err;
    }
    let config: RepoConfig;
    try {
      config = JSON.parse(raw.toString('utf8')) as RepoConfig;
    } catch {
      throw new RepositoryNotFoundError(`${store.description} does not hold a Haven repository (unreadable config)`);
    }
    if (config.format !== FORMAT_NAME) throw new RepositoryNotFoundError(`${store.description} does not hold a Haven repository`);
    if (config.version !== FORMAT_VERSION) throw new HavenError(`repository format version ${config.version} is not supported by this Haven`);
    if (config.hash !== HASH_ALGORITHM) throw new HavenError(`repository content hash "${config.hash}" is not supported`);
    let keys: MasterKeys;
    if (config.encryption === 'none') {
      if (password !== null) {
        throw new UsageError(`the repository at ${store.description} is not encrypted, but a password was given; drop the password (or use --no-encryption)`);
      }
      if (!config.secrets) throw new RepositoryCorruptError('config of an unencrypted repository lacks its secrets');
      keys = { encKey: null, macKey: Buffer.from(config.secrets.macKey, 'hex'), chunkerSeed: Buffer.from(config.secrets.chunkerSeed, 'hex') };
    } else if (config.encryption === CIPHER_ALGORITHM) {
      if (password === null) {
        throw new UsageError(`the repository at ${store.description} is encrypted: a password is needed (--password-file or HAVEN_PASSWORD)`);
      }
      keys = await Repository.unlockKeys(store, config, password);
    } else {
      throw new HavenError(`repository encryption "${config.encryption}" is not supported`);
    }
    const mac = configMac(keys.macKey, config);
    if (!config.mac || !timingSafeEqual(Buffer.from(mac), Buffer.from(config.mac.padEnd(mac.length).slice(0, mac.length)))) {
      throw new RepositoryCorruptError('the repository config does not match its keys (tampered or damaged config)');
    }
    const repo = new Repository(store, config, keys);
    await repo.loadIndex();
    return repo;
  }

  private static async unlockKeys(store: BlobStore, config: RepoConfig, password: string): Promise<MasterKeys> {
    const list = await store.list('keys/');
    if (list.length === 0) throw new RepositoryCorruptError('the repository has no keys');
    for (const info of list) {
      let file: KeyFile;
      try {
        file = JSON.parse((await store.get(info.name)).toString('utf8')) as KeyFile;
      } catch {
        continue;
      }
      if (file.kdf !== 'scrypt') continue;
      const wrapKey = await deriveKey(password, Buffer.from(file.salt, 'base64'), { N: file.N, r: file.r, p: file.p });
      let plain: Buffer;
      try {
        plain = new BlobCipher(wrapKey).open(Buffer.from(file.data, 'base64')).payload;
      } catch {
        continue;
      }
      const k = JSON.parse(plain.toString('utf8')) as { repo: string; encKey: string; macKey: string; chunkerSeed: string };
      if (k.repo !== config.id) continue;
      return { encKey: Buffer.from(k.encKey, 'base64'), macKey: Buffer.from(k.macKey, 'base64'), chunkerSeed: Buffer.from(k.chunkerSeed, 'base64') };
    }
    throw new WrongPasswordError(`wrong password for the repository at ${store.description}`);
  }

  /** Adds a key for another password (same master keys). */
  async addKey(password: string, scrypt: ScryptParams = DEFAULT_SCRYPT): Promise<void> {
    if (!this.encrypted) throw new UsageError('an unencrypted repository has no keys');
    await Repository.writeKey(this.store, this.keys, this.config.id, password, scrypt);
  }

  // ---- hashing and sealing -------------------------------------------------------------

  hash(data: Uint8Array): string {
    return blobId(this.keys.macKey, data).toString('hex');
  }

  seal(data: Uint8Array): Buffer {
    return sealMeta(this.cipher, this.compressor, data);
  }

  unseal(envelope: Uint8Array, rawLength?: number): Buffer {
    return openMeta(this.cipher, this.decompressor, envelope, rawLength);
  }

  // ---- index ---------------------------------------------------------------------------

  /** Index blobs that could not be read (check reports them; their packs get re-indexed). */
  readonly damagedIndexFiles = new Map<string, string>();

  async loadIndex(): Promise<void> {
    const list = await this.store.list('index/');
    await mapLimit(list, 8, async (info) => {
      if (this.index.files.has(info.name)) return;
      let packs: PackInfo[];
      try {
        packs = await this.readIndexFile(info.name);
      } catch (err) {
        this.damagedIndexFiles.set(info.name, (err as Error).message);
        return;
      }
      for (const p of packs) this.index.addPack(p);
      this.index.files.add(info.name);
    });
  }

  async readIndexFile(name: string): Promise<PackInfo[]> {
    const raw = await this.store.get(name);
    try {
      return decodeIndex(this.unseal(raw));
    } catch (err) {
      throw new RepositoryCorruptError(`index blob ${name} is damaged: ${(err as Error).message}`);
    }
  }

  /** Writes an index blob listing these packs; returns its size. */
  async saveIndex(packs: PackInfo[]): Promise<number> {
    if (packs.length === 0) return 0;
    const name = `index/${randomName()}`;
    const data = this.seal(encodeIndex(packs));
    await this.store.put(name, data);
    this.index.files.add(name);
    return data.length;
  }

  // ---- packs ---------------------------------------------------------------------------

  /** Uploads a pack made of these envelopes; adds it to the in-memory index. */
  async uploadPack(blobs: ReadonlyArray<{ id: string; type: BlobType; rawLength: number; data: Uint8Array }>): Promise<PackInfo> {
    const entries: PackEntry[] = [];
    let offset = 0;
    for (const b of blobs) {
      entries.push({ id: b.id, type: b.type, offset, length: b.data.length, rawLength: b.rawLength });
      offset += b.data.length;
    }
    const trailer = packTrailer(this.cipher, this.compressor, entries);
    const body = Buffer.concat([...blobs.map((b) => b.data), trailer], offset + trailer.length);
    const id = newPackId();
    await this.store.put(packBlobName(id), body);
    const info: PackInfo = { id, size: body.length, entries };
    this.index.addPack(info);
    return info;
  }

  /**
   * Uploads a pack built in place (see PackBuilder): `buf[0, used)` holds the envelopes at the
   * offsets `entries` name; the header and trailer are appended (in place when there is room).
   */
  async uploadPackBuffer(buf: Buffer, used: number, entries: PackEntry[]): Promise<PackInfo> {
    const trailer = packTrailer(this.cipher, this.compressor, entries);
    let body: Buffer;
    if (used + trailer.length <= buf.length) {
      trailer.copy(buf, used);
      body = buf.subarray(0, used + trailer.length);
    } else {
      body = Buffer.concat([buf.subarray(0, used), trailer]);
    }
    const id = newPackId();
    await this.store.put(packBlobName(id), body);
    const info: PackInfo = { id, size: body.length, entries };
    this.index.addPack(info);
    return info;
  }

  // ---- blob reads ----------------------------------------------------------------------

  /** Reads raw envelope bytes of a blob, through a small cache of pack segments. */
  private async readEnvelope(pack: string, offset: number, length: number): Promise<Buffer> {
    for (let i = 0; i < this.segments.length; i++) {
      const s = this.segments[i];
      if (s.pack === pack && offset >= s.offset && offset + length <= s.offset + s.data.length) {
        if (i > 0) {
          this.segments.splice(i, 1);
          this.segments.unshift(s);
        }
        return s.data.subarray(offset - s.offset, offset - s.offset + length);
      }
    }
    const packSize = this.index.packs.get(pack)?.size ?? offset + length;
    const WINDOW = 8 * 1024 * 1024;
    const want = Math.max(length, Math.min(WINDOW, packSize - offset));
    let data: Buffer;
    try {
      data = await this.store.get(packBlobName(pack), { offset, length: want });
    } catch (err) {
      if (isNotFound(err)) throw new IntegrityError(`pack ${pack} is missing`);
      throw err;
    }
    if (data.length < length) throw new IntegrityError(`pack ${pack} is shorter than the index says`);
    this.segments.unshift({ pack, offset, data });
    if (this.segments.length > 4) this.segments.length = 4;
    return data.subarray(0, length);
  }

  /** Reads a blob, decrypts, decompresses and verifies it against its id. */
  async readBlob(id: string): Promise<Buffer> {
    const e = this.index.get(id);
    if (!e) throw new IntegrityError(`blob ${id} is not in the index`);
    const env = await this.readEnvelope(e.pack, e.offset, e.length);
    const data = this.unseal(env, e.rawLength);
    if (this.hash(data) !== id) throw new IntegrityError(`blob ${id} in pack ${e.pack} does not match its id`);
    return data;
  }

  private treeCache = new Map<string, Tree>();

  async loadTree(id: string): Promise<Tree> {
    const hit = this.treeCache.get(id);
    if (hit) return hit;
    const tree = parseTree(await this.readBlob(id));
    if (this.treeCache.size > 2000) this.treeCache.clear();
    this.treeCache.set(id, tree);
    return tree;
  }

  // ---- sealed metadata blobs -------------------------------------------------------------

  async saveJson(prefix: 'snapshots' | 'locks', value: unknown, name = randomName()): Promise<{ name: string; size: number }> {
    const data = this.seal(Buffer.from(JSON.stringify(value)));
    const full = `${prefix}/${name}`;
    await this.store.put(full, data);
    return { name: full, size: data.length };
  }

  async loadJson<T>(name: string): Promise<T> {
    const raw = await this.store.get(name);
    try {
      return JSON.parse(this.unseal(raw).toString('utf8')) as T;
    } catch (err) {
      throw new RepositoryCorruptError(`${name} is damaged: ${(err as Error).message}`);
    }
  }

  async loadSnapshot(id: string): Promise<Snapshot> {
    return this.loadJson<Snapshot>(`snapshots/${id}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.closers]) await c().catch(() => undefined);
    this.closers.clear();
    this.segments = [];
    this.treeCache.clear();
  }
}

export function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
