/**
 * The repository index: which pack holds which blob, at what offset.
 *
 * Index blob plaintext: "HVIX" | version u8 | packCount u32 |
 *   packCount × (packId 32 | packSize u32 | count u32 | count × (type u8 | id 32 | offset u32 | length u32 | rawLength u32))
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

export function encodeIndex(packs: ReadonlyArray<PackInfo>): Buffer {
  let size = 9;
  for (const p of packs) size += ID_LEN + 8 + p.entries.length * IDX_ENTRY;
  const out = Buffer.allocUnsafe(size);
  INDEX_MAGIC.copy(out, 0);
  out[4] = 1;
  out.writeUInt32LE(packs.length, 5);
  let o = 9;
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

export function decodeIndex(buf: Buffer): PackInfo[] {
  if (buf.length < 9 || !buf.subarray(0, 4).equals(INDEX_MAGIC) || buf[4] !== 1) throw new IntegrityError('bad index blob');
  const n = buf.readUInt32LE(5);
  const packs: PackInfo[] = [];
  let o = 9;
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
  return packs;
}

/** All index blobs merged in memory. */
export class MasterIndex {
  readonly blobs = new Map<string, IndexEntry>();
  readonly packs = new Map<string, { size: number; count: number }>();
  /** Names of the index blobs loaded. */
  readonly files = new Set<string>();

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
