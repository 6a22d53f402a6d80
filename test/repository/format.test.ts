/** Repository building blocks: chunker, blob envelope, pack header, index codec. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Chunker, ChunkBuffer, DEFAULT_CHUNKER, gearTable } from '#core/repository/chunker.js';
import { BlobCipher, Compressor, Decompressor, FLAG_RAW, FLAG_ZSTD, IntegrityError, openMeta, sealMeta } from '#core/repository/crypto.js';
import { BlobType, decodePackHeader, encodePackHeader, packTrailer, parsePack } from '#core/repository/pack.js';
import { decodeIndex, encodeIndex } from '#core/repository/index.js';

function chunk(data: Buffer, seed: Buffer): number[] {
  const cb = new ChunkBuffer(new Chunker(DEFAULT_CHUNKER, gearTable(seed)));
  const sizes: number[] = [];
  let from = 0;
  for (;;) {
    if (from < data.length) from += cb.push(data, from);
    const final = from >= data.length;
    let c: Buffer | null;
    while ((c = cb.next(final))) sizes.push(c.length);
    if (final) break;
  }
  return sizes;
}

describe('repository: chunker', function () {
  const seed = randomBytes(32);
  const data = randomBytes(48 * 1024 * 1024);

  it('cuts chunks within min/max with about 1 MiB average', function () {
    const sizes = chunk(data, seed);
    expect(sizes.reduce((a, b) => a + b, 0)).to.equal(data.length);
    for (const s of sizes.slice(0, -1)) expect(s).to.be.within(DEFAULT_CHUNKER.min, DEFAULT_CHUNKER.max);
    const avg = data.length / sizes.length;
    expect(avg).to.be.within(700 * 1024, 1600 * 1024);
  });

  it('boundaries resynchronise after an insertion and depend on the secret seed', function () {
    const a = chunk(data, seed);
    const shifted = Buffer.concat([data.subarray(0, 5_000_000), Buffer.from('x'), data.subarray(5_000_000)]);
    const b = chunk(shifted, seed);
    const ends = (sizes: number[], shift: number) => {
      const out = new Set<number>();
      let pos = 0;
      for (const s of sizes) out.add((pos += s) - shift);
      return out;
    };
    const ea = ends(a, 0);
    const eb = [...ends(b, 1)].filter((e) => e > 7_000_000);
    const common = eb.filter((e) => ea.has(e)).length;
    expect(common / eb.length).to.be.greaterThan(0.95);
    const other = chunk(data, randomBytes(32));
    expect(other.slice(0, 5)).to.not.deep.equal(a.slice(0, 5));
  });

  it('a file smaller than the minimum is one chunk', function () {
    expect(chunk(randomBytes(1000), seed)).to.deep.equal([1000]);
    expect(chunk(Buffer.alloc(0), seed)).to.deep.equal([]);
  });
});

describe('repository: blob envelope', function () {
  it('seals and opens, authenticates, never repeats a nonce', function () {
    const c = new BlobCipher(randomBytes(32));
    const msg = Buffer.from('hello world');
    const a = c.seal(FLAG_RAW, msg);
    const b = c.seal(FLAG_RAW, msg);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).to.equal(false);
    expect(c.open(a).payload.equals(msg)).to.equal(true);
    const bad = Buffer.from(a);
    bad[15] ^= 1;
    expect(() => c.open(bad)).to.throw(IntegrityError);
    const flagFlipped = Buffer.from(a);
    flagFlipped[0] = FLAG_ZSTD;
    expect(() => c.open(flagFlipped)).to.throw(IntegrityError);
    expect(() => new BlobCipher(randomBytes(32)).open(a)).to.throw(IntegrityError);
  });

  it('compresses what compresses and leaves random data raw', function () {
    const cipher = new BlobCipher(null);
    const comp = new Compressor(1);
    const text = Buffer.from('compressible '.repeat(10000));
    const sealed = sealMeta(cipher, comp, text);
    expect(sealed[0]).to.equal(FLAG_ZSTD);
    expect(sealed.length).to.be.lessThan(text.length / 10);
    expect(openMeta(cipher, new Decompressor(), sealed).equals(text)).to.equal(true);
    const rnd = randomBytes(100000);
    expect(comp.compress(rnd)).to.equal(null);
  });
});

describe('repository: pack and index codecs', function () {
  it('round-trips a pack header and an index', function () {
    const cipher = new BlobCipher(randomBytes(32));
    const blobs = [randomBytes(100), randomBytes(5000), randomBytes(1)].map((d, i) => ({ id: randomBytes(32).toString('hex'), type: i === 1 ? BlobType.Tree : BlobType.Data, rawLength: d.length, data: cipher.seal(FLAG_RAW, d) }));
    const entries = blobs.map((b) => ({ id: b.id, type: b.type, length: b.data.length, rawLength: b.rawLength }));
    const decoded = decodePackHeader(encodePackHeader(entries));
    expect(decoded.map((e) => e.id)).to.deep.equal(blobs.map((b) => b.id));
    const pack = Buffer.concat([...blobs.map((b) => b.data), packTrailer(cipher, new Compressor(1), entries)]);
    const parsed = parsePack(cipher, new Decompressor(), pack);
    expect(parsed[2].offset).to.equal(blobs[0].data.length + blobs[1].data.length);
    const idx = decodeIndex(encodeIndex([{ id: randomBytes(32).toString('hex'), size: pack.length, entries: parsed }]));
    expect(idx.packs[0].entries).to.deep.equal(parsed);
    expect(idx.supersedes).to.deep.equal([]);
    const replaced = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    const v2 = decodeIndex(encodeIndex([{ id: randomBytes(32).toString('hex'), size: pack.length, entries: parsed }], replaced));
    expect(v2.supersedes).to.deep.equal(replaced);
    expect(v2.packs[0].entries).to.deep.equal(parsed);
    expect(() => parsePack(cipher, new Decompressor(), pack.subarray(1))).to.throw();
  });
});
