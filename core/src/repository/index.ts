/**
 * The repository index: which pack holds which blob, at what offset.
 *
 * Index blob plaintext, version 1: "HVIX" | 1 | packCount u32 | packs
 *                      version 2: "HVIX" | 2 | supersededCount u32 | supersededCount × indexId 32 | packCount u32 | packs
 *   packs = packCount × (packId 32 | packSize u32 | count u32 | count × (type u8 | id 32 | offset u32 | length u32 | rawLength u32))
 *
 * Version 2 names index blobs it replaces (restic's "supersedes"): a reader ignores those, so an
 * index can be corrected (a lost pack dropped, a damaged index blob replaced) without deleting
 * anything a concurrent reader may be loading; `repair index` deletes them later, under an
 * exclusive lock. Version 1 is still written when nothing is superseded.
 */
import { ID_LEN, IntegrityError } from './crypto.js';
import { BlobType, type PackEntry } from './pack.js';

const INDEX_MAGIC = Buffer.from('HVIX');
const IDX_ENTRY = 1 + ID_LEN + 12;

export interface IndexEntry {
  pack: string;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
}

export interface PackInfo {
  id: string;
  size: number;
  entries: PackEntry[];
}

/** One index blob decoded: its packs and the index blobs (ids, not names) it supersedes. */
export interface IndexFile {
  packs: PackInfo[];
  supersedes: string[];
}

export function encodeIndex(packs: ReadonlyArray<PackInfo>, supersedes: readonly string[] = []): Buffer {
  const head = supersedes.length ? 9 + supersedes.length * ID_LEN + 4 : 9;
  let size = head;
  for (const p of packs) size += ID_LEN + 8 + p.entries.length * IDX_ENTRY;
  const out = Buffer.allocUnsafe(size);
  INDEX_MAGIC.copy(out, 0);
  out[4] = supersedes.length ? 2 : 1;
  let o = 5;
  if (supersedes.length) {
    out.writeUInt32LE(supersedes.length, o);
    o += 4;
    for (const id of supersedes) o += out.write(id, o, ID_LEN, 'hex');
  }
  out.writeUInt32LE(packs.length, o);
  o += 4;
  for (const p of packs) {
    out.write(p.id, o, ID_LEN, 'hex');
    out.writeUInt32LE(p.size, o + ID_LEN);
    out.writeUInt32LE(p.entries.length, o + ID_LEN + 4);
    o += ID_LEN + 8;
    for (const e of p.entries) {
      out[o] = e.type;
      out.write(e.id, o + 1, ID_LEN, 'hex');
      out.writeUInt32LE(e.offset, o + 1 + ID_LEN);
      out.writeUInt32LE(e.length, o + 5 + ID_LEN);
      out.writeUInt32LE(e.rawLength, o + 9 + ID_LEN);
      o += IDX_ENTRY;
    }
  }
  return out;
}

export function decodeIndex(buf: Buffer): IndexFile {
  if (buf.length < 9 || !buf.subarray(0, 4).equals(INDEX_MAGIC) || (buf[4] !== 1 && buf[4] !== 2)) throw new IntegrityError('bad index blob');
  let o = 5;
  const supersedes: string[] = [];
  if (buf[4] === 2) {
    const count = buf.readUInt32LE(o);
    o += 4;
    if (o + count * ID_LEN + 4 > buf.length) throw new IntegrityError('truncated index blob');
    for (let i = 0; i < count; i++, o += ID_LEN) supersedes.push(buf.toString('hex', o, o + ID_LEN));
  }
  const n = buf.readUInt32LE(o);
  o += 4;
  const packs: PackInfo[] = [];
  for (let i = 0; i < n; i++) {
    if (o + ID_LEN + 8 > buf.length) throw new IntegrityError('truncated index blob');
    const id = buf.toString('hex', o, o + ID_LEN);
    const size = buf.readUInt32LE(o + ID_LEN);
    const count = buf.readUInt32LE(o + ID_LEN + 4);
    o += ID_LEN + 8;
    if (o + count * IDX_ENTRY > buf.length) throw new IntegrityError('truncated index blob');
    const entries: PackEntry[] = new Array(count);
    for (let k = 0; k < count; k++) {
      entries[k] = {
        type: buf[o] as BlobType,
        id: buf.toString('hex', o + 1, o + 1 + ID_LEN),
        offset: buf.readUInt32LE(o + 1 + ID_LEN),
        length: buf.readUInt32LE(o + 5 + ID_LEN),
        rawLength: buf.readUInt32LE(o + 9 + ID_LEN),
      };
      o += IDX_ENTRY;
    }
    packs.push({ id, size, entries });
  }
  if (o !== buf.length) throw new IntegrityError('index blob has trailing bytes');
  return { packs, supersedes };
}

/** All index blobs merged in memory. */
export class MasterIndex {
  readonly blobs = new Map<string, IndexEntry>();
  readonly packs = new Map<string, { size: number; count: number }>();
  /** Names of the index blobs loaded. */
  readonly files = new Set<string>();
  /** Names of index blobs that a loaded index blob supersedes (not loaded). */
  readonly superseded = new Set<string>();

  /** Forgets everything (before loading the index again). */
  clear(): void {
    this.blobs.clear();
    this.packs.clear();
    this.files.clear();
    this.superseded.clear();
  }

  addPack(p: PackInfo): void {
    this.packs.set(p.id, { size: p.size, count: p.entries.length });
    for (const e of p.entries) {
      if (!this.blobs.has(e.id)) this.blobs.set(e.id, { pack: p.id, type: e.type, offset: e.offset, length: e.length, rawLength: e.rawLength });
    }
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  get(id: string): IndexEntry | undefined {
    return this.blobs.get(id);
  }

  /** Every entry the index holds for one pack (for check). */
  entriesOf(): Map<string, PackEntry[]> {
    const m = new Map<string, PackEntry[]>();
    for (const [id, e] of this.blobs) {
      let l = m.get(e.pack);
      if (!l) m.set(e.pack, (l = []));
      l.push({ id, type: e.type, offset: e.offset, length: e.length, rawLength: e.rawLength });
    }
    return m;
  }
}
