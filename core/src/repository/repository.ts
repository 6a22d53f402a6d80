/**
 * A Haven repository on a blob store: config, keys, index, blob reads, sealed metadata blobs,
 * pack writing.
 *
 * Layout (see docs/repository-format.md):
 *   config                 plaintext JSON (public parameters, MAC'd with the content-hash key)
 *   config.copy            the same bytes again (for repair config)
 *   keys/<id>              master keys wrapped with an scrypt-derived key
 *   data/<xx>/<packId>     packs
 *   index/<id>             index blobs (sealed)
 *   snapshots/<id>         snapshot records (sealed JSON)
 *   locks/<id>             locks (sealed JSON)
 */
import { randomBytes } from 'node:crypto';
import type { RepositoryStore } from '../storage/repository-store.js';
import { RepositoryCorruptError, UsageError } from '../errors.js';
import {
  BlobCipher,
  Compressor,
  DEFAULT_SCRYPT,
  Decompressor,
  IntegrityError,
  blobId,
  openMeta,
  sealMeta,
  type MasterKeys,
  type ScryptParams,
} from './crypto.js';
import { MasterIndex, decodeIndex, encodeIndex, type IndexFile, type PackInfo } from './index.js';
import { sealKeyFile } from './key-file.js';
import { BlobType, newPackId, packBlobName, packTrailer, type PackEntry } from './pack.js';
import type { RepoConfig } from './repo-config.js';
import { parseTree, type Tree } from './tree.js';
import type { Snapshot } from './snapshot.js';

export { safeUser } from './key-file.js';
export type { RepoConfig } from './repo-config.js';

export function randomName(): string {
  return randomBytes(32).toString('hex');
}

export function isNotFound(err: unknown): boolean {
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
    readonly store: RepositoryStore,
    readonly config: RepoConfig,
    readonly keys: MasterKeys,
    /** The config blob as stored (its copy must equal it byte for byte). */
    readonly configBytes: Buffer,
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

  /** Wraps a store whose config and keys are known (see repository-lifecycle.ts). */
  static attach(store: RepositoryStore, config: RepoConfig, keys: MasterKeys, configBytes: Buffer): Repository {
    return new Repository(store, config, keys, configBytes);
  }

  /** Adds a key for another password (same master keys). */
  async addKey(password: string, scrypt: ScryptParams = DEFAULT_SCRYPT): Promise<void> {
    if (!this.encrypted) throw new UsageError('an unencrypted repository has no keys');
    await this.store.put(`keys/${randomName()}`, await sealKeyFile(this.keys, this.config.id, password, scrypt));
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

  /**
   * Loads the index blobs not loaded yet. Blobs superseded by another (version 2) are left out,
   * damaged ones included: what they listed is in the blob that replaced them.
   */
  async loadIndex(): Promise<void> {
    const list = await this.store.list('index/');
    const read = new Map<string, IndexFile>();
    await mapLimit(list, 8, async (info) => {
      if (this.index.files.has(info.name)) return;
      try {
        read.set(info.name, await this.readIndexFile(info.name));
        this.damagedIndexFiles.delete(info.name);
      } catch (err) {
        this.damagedIndexFiles.set(info.name, (err as Error).message);
      }
    });
    for (const file of read.values()) for (const id of file.supersedes) this.index.superseded.add(`index/${id}`);
    for (const name of this.index.superseded) this.damagedIndexFiles.delete(name);
    for (const [name, file] of read) {
      if (this.index.superseded.has(name)) continue;
      for (const p of file.packs) this.index.addPack(p);
      this.index.files.add(name);
    }
  }

  /** Forgets the loaded index and loads it again (after an index blob superseded others). */
  async reloadIndex(): Promise<void> {
    this.index.clear();
    this.damagedIndexFiles.clear();
    await this.loadIndex();
  }

  async readIndexFile(name: string): Promise<IndexFile> {
    const raw = await this.store.get(name);
    try {
      return decodeIndex(this.unseal(raw));
    } catch (err) {
      throw new RepositoryCorruptError(`index blob ${name} is damaged: ${(err as Error).message}`);
    }
  }

  /**
   * Writes an index blob listing these packs (and naming the index blobs it supersedes);
   * returns its size. Nothing is written for nothing.
   */
  async saveIndex(packs: PackInfo[], supersedes: readonly string[] = []): Promise<number> {
    if (packs.length === 0 && supersedes.length === 0) return 0;
    const name = `index/${randomName()}`;
    const data = this.seal(encodeIndex(packs, supersedes.map((n) => n.slice('index/'.length))));
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
