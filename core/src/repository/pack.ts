/**
 * Pack files: many blob envelopes back to back, then the pack's own header (sealed like any
 * other blob), then an 8-byte trailer: header envelope length (u32 LE) and the magic "HVP1".
 *
 * Header plaintext: "HVPH" | version u8 | count u32 | count × (type u8 | id 32 | length u32 | rawLength u32)
 * Offsets are implied: blob k starts where blob k-1 ended (the first at 0).
 */
import { randomBytes } from 'node:crypto';
import type { RepositoryStore } from '../storage/repository-store.js';
import { BlobCipher, Compressor, Decompressor, ID_LEN, IntegrityError, openMeta, sealMeta } from './crypto.js';

export const PACK_MAGIC = Buffer.from('HVP1');
export const HEADER_MAGIC = Buffer.from('HVPH');
export const TRAILER_LEN = 8;
export const ENTRY_LEN = 1 + ID_LEN + 4 + 4;

export const enum BlobType {
  Data = 0,
  Tree = 1,
}

export interface PackEntry {
  type: BlobType;
  id: string;
  offset: number;
  length: number;
  rawLength: number;
}

export function newPackId(): string {
  return randomBytes(32).toString('hex');
}

export function packBlobName(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

export function packIdFromName(name: string): string | null {
  const m = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(name);
  return m && m[2].startsWith(m[1]) ? m[2] : null;
}

export function encodePackHeader(entries: ReadonlyArray<{ type: BlobType; id: string; length: number; rawLength: number }>): Buffer {
  const out = Buffer.allocUnsafe(4 + 1 + 4 + entries.length * ENTRY_LEN);
  HEADER_MAGIC.copy(out, 0);
  out[4] = 1;
  out.writeUInt32LE(entries.length, 5);
  let p = 9;
  for (const e of entries) {
    out[p] = e.type;
    out.write(e.id, p + 1, ID_LEN, 'hex');
    out.writeUInt32LE(e.length, p + 1 + ID_LEN);
    out.writeUInt32LE(e.rawLength, p + 5 + ID_LEN);
    p += ENTRY_LEN;
  }
  return out;
}

export function decodePackHeader(buf: Buffer): PackEntry[] {
  if (buf.length < 9 || !buf.subarray(0, 4).equals(HEADER_MAGIC) || buf[4] !== 1) throw new IntegrityError('bad pack header');
  const count = buf.readUInt32LE(5);
  if (buf.length !== 9 + count * ENTRY_LEN) throw new IntegrityError('pack header has the wrong length');
  const entries: PackEntry[] = new Array(count);
  let p = 9;
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const type = buf[p] as BlobType;
    if (type !== BlobType.Data && type !== BlobType.Tree) throw new IntegrityError(`bad blob type ${type}`);
    const length = buf.readUInt32LE(p + 1 + ID_LEN);
    entries[i] = { type, id: buf.toString('hex', p + 1, p + 1 + ID_LEN), offset, length, rawLength: buf.readUInt32LE(p + 5 + ID_LEN) };
    offset += length;
    p += ENTRY_LEN;
  }
  return entries;
}

/** Builds the header+trailer bytes that close a pack. */
export function packTrailer(cipher: BlobCipher, compressor: Compressor, entries: ReadonlyArray<{ type: BlobType; id: string; length: number; rawLength: number }>): Buffer {
  const header = sealMeta(cipher, compressor, encodePackHeader(entries));
  const tail = Buffer.allocUnsafe(TRAILER_LEN);
  tail.writeUInt32LE(header.length, 0);
  PACK_MAGIC.copy(tail, 4);
  return Buffer.concat([header, tail]);
}

/** Parses the header of a whole pack held in memory. */
export function parsePack(cipher: BlobCipher, decompressor: Decompressor, pack: Buffer): PackEntry[] {
  if (pack.length < TRAILER_LEN || !pack.subarray(pack.length - 4).equals(PACK_MAGIC)) throw new IntegrityError('pack trailer missing');
  const hlen = pack.readUInt32LE(pack.length - TRAILER_LEN);
  const hstart = pack.length - TRAILER_LEN - hlen;
  if (hstart < 0) throw new IntegrityError('pack header length out of range');
  const entries = decodePackHeader(openMeta(cipher, decompressor, pack.subarray(hstart, pack.length - TRAILER_LEN)));
  const dataEnd = entries.length ? entries[entries.length - 1].offset + entries[entries.length - 1].length : 0;
  if (dataEnd !== hstart) throw new IntegrityError('pack header does not match the pack size');
  return entries;
}

/** Reads only the header of a stored pack (two range reads at most). */
export async function readPackHeader(store: RepositoryStore, name: string, size: number, cipher: BlobCipher, decompressor: Decompressor): Promise<PackEntry[]> {
  if (size < TRAILER_LEN) throw new IntegrityError('pack too short');
  const guess = Math.min(size, 64 * 1024);
  let tail = await store.get(name, { offset: size - guess, length: guess });
  if (!tail.subarray(tail.length - 4).equals(PACK_MAGIC)) throw new IntegrityError('pack trailer missing');
  const hlen = tail.readUInt32LE(tail.length - TRAILER_LEN);
  const need = hlen + TRAILER_LEN;
  if (need > size) throw new IntegrityError('pack header length out of range');
  if (need > tail.length) tail = await store.get(name, { offset: size - need, length: need });
  const header = tail.subarray(tail.length - need, tail.length - TRAILER_LEN);
  const entries = decodePackHeader(openMeta(cipher, decompressor, header));
  const dataEnd = entries.length ? entries[entries.length - 1].offset + entries[entries.length - 1].length : 0;
  if (dataEnd !== size - need) throw new IntegrityError('pack header does not match the pack size');
  return entries;
}
