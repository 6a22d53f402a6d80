/**
 * Blob envelope: compression flag, optional AES-256-GCM encryption, keyed content hash.
 *
 * Encrypted envelope:   flag(1) | nonce(12) | ciphertext | tag(16)     (flag is the GCM AAD)
 * Unencrypted envelope: flag(1) | payload
 *
 * The nonce is an 8-byte random prefix drawn once per BlobCipher (per worker, per process)
 * followed by a 4-byte big-endian counter, so sealing a blob costs no randomBytes call. A new
 * prefix is drawn before the counter wraps.
 *
 * Used both on the main thread and inside worker threads: no imports beyond node built-ins
 * and zstd-napi.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt as scryptCb } from 'node:crypto';
import binding from 'zstd-napi/binding.js';

export const FLAG_RAW = 0;
export const FLAG_ZSTD = 1;
export const NONCE_LEN = 12;
export const TAG_LEN = 16;
export const KEY_LEN = 32;
export const ID_LEN = 32;

/** Name of the content hash, recorded in the config so it can be swapped later. */
export const HASH_ALGORITHM = 'hmac-sha256';
export const CIPHER_ALGORITHM = 'aes-256-gcm';

/** Thrown when an envelope does not authenticate or does not decode. */
export class IntegrityError extends Error {}

/** The secrets of a repository. */
export interface MasterKeys {
  /** AES-256-GCM key, or null for an unencrypted repository. */
  encKey: Buffer | null;
  /** Key of the content hash (HMAC-SHA256). */
  macKey: Buffer;
  /** Seed of the chunker's gear table. */
  chunkerSeed: Buffer;
}

export function newMasterKeys(encrypted: boolean): MasterKeys {
  return {
    encKey: encrypted ? randomBytes(KEY_LEN) : null,
    macKey: randomBytes(KEY_LEN),
    chunkerSeed: randomBytes(KEY_LEN),
  };
}

/** Keyed content hash: the id of a blob. */
export function blobId(macKey: Buffer, data: Uint8Array): Buffer {
  return createHmac('sha256', macKey).update(data).digest();
}

export class BlobCipher {
  private prefix = randomBytes(8);
  private counter = 0;

  constructor(readonly key: Buffer | null) {}

  get encrypted(): boolean {
    return this.key !== null;
  }

  /** Bytes an envelope adds to its payload. */
  get overhead(): number {
    return this.key ? 1 + NONCE_LEN + TAG_LEN : 1;
  }

  private writeNonce(out: Buffer, at: number): void {
    if (this.counter >= 0xffffffff) {
      this.prefix = randomBytes(8);
      this.counter = 0;
    }
    this.prefix.copy(out, at);
    out.writeUInt32BE(this.counter++, at + 8);
  }

  /**
   * Seals a payload. The result owns its ArrayBuffer exactly (allocUnsafeSlow), so it can be
   * transferred between threads.
   */
  seal(flag: number, payload: Uint8Array): Buffer {
    const out = Buffer.allocUnsafeSlow(this.sealedLength(payload.length));
    this.sealInto(flag, payload, out, 0);
    return out;
  }

  /** Envelope length for a payload of `n` bytes. */
  sealedLength(n: number): number {
    return this.overhead + n;
  }

  /** Seals a payload into `out` at `at` (room for sealedLength bytes); returns the length. */
  sealInto(flag: number, payload: Uint8Array, out: Buffer, at: number): number {
    const key = this.key;
    out[at] = flag;
    if (!key) {
      out.set(payload, at + 1);
      return 1 + payload.length;
    }
    this.writeNonce(out, at + 1);
    const cipher = createCipheriv('aes-256-gcm', key, out.subarray(at + 1, at + 1 + NONCE_LEN));
    cipher.setAAD(out.subarray(at, at + 1));
    let pos = at + 1 + NONCE_LEN;
    const a = cipher.update(payload);
    out.set(a, pos);
    pos += a.length;
    const b = cipher.final();
    if (b.length) {
      out.set(b, pos);
      pos += b.length;
    }
    cipher.getAuthTag().copy(out, pos);
    return pos + TAG_LEN - at;
  }

  /** Opens an envelope; throws IntegrityError when it does not authenticate. */
  open(envelope: Uint8Array): { flag: number; payload: Buffer } {
    if (envelope.length < 1) throw new IntegrityError('empty envelope');
    const flag = envelope[0];
    if (flag !== FLAG_RAW && flag !== FLAG_ZSTD) throw new IntegrityError(`unknown blob flag ${flag}`);
    const key = this.key;
    if (!key) return { flag, payload: Buffer.from(envelope.buffer, envelope.byteOffset + 1, envelope.length - 1) };
    if (envelope.length < 1 + NONCE_LEN + TAG_LEN) throw new IntegrityError('envelope too short');
    const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.length);
    const nonce = buf.subarray(1, 1 + NONCE_LEN);
    const tag = buf.subarray(buf.length - TAG_LEN);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(buf.subarray(0, 1));
    decipher.setAuthTag(tag);
    try {
      const a = decipher.update(buf.subarray(1 + NONCE_LEN, buf.length - TAG_LEN));
      const b = decipher.final();
      return { flag, payload: b.length ? Buffer.concat([a, b]) : a };
    } catch {
      throw new IntegrityError('authentication failed (damaged data or wrong key)');
    }
  }
}

/** A reusable zstd compressor (one per thread). */
export class Compressor {
  private readonly cctx = new binding.CCtx();
  private out: Buffer = Buffer.allocUnsafe(0);

  constructor(readonly level: number) {}

  /**
   * Compresses `data`; returns a view of an internal buffer (valid until the next call) when
   * it saves at least `minSaving` of the size, else null (store raw).
   */
  compress(data: Uint8Array, minSaving = 0.03): Buffer | null {
    if (data.length < 64) return null;
    const bound = binding.compressBound(data.length);
    if (this.out.length < bound) this.out = Buffer.allocUnsafe(Math.max(bound, 64 * 1024));
    const n = this.cctx.compress(this.out, data, this.level);
    if (n > data.length * (1 - minSaving)) return null;
    return this.out.subarray(0, n);
  }
}

/** A reusable zstd decompressor. */
export class Decompressor {
  private readonly dctx = new binding.DCtx();

  decompress(data: Uint8Array, rawLength?: number): Buffer {
    let size = rawLength;
    if (size === undefined) {
      const s = binding.getFrameContentSize(data);
      if (typeof s !== 'number' || s > 1 << 30) throw new IntegrityError('zstd frame without a usable content size');
      size = s;
    }
    const out = Buffer.allocUnsafe(size);
    if (size === 0) return out;
    return this.decompressInto(out, data);
  }

  /** Decompresses into exactly `out`; anything but a frame of exactly that size is damage. */
  private decompressInto(out: Buffer, data: Uint8Array): Buffer {
    let n: number;
    try {
      n = this.dctx.decompress(out, data);
    } catch (err) {
      throw new IntegrityError(`decompression failed: ${(err as Error).message}`);
    }
    if (n !== out.length) throw new IntegrityError(`decompressed ${n} bytes, expected ${out.length}`);
    return out;
  }

  private scratch: Buffer = Buffer.allocUnsafe(0);

  /**
   * Like decompress(data, rawLength), into an internal buffer reused by the next call: the
   * result is a view valid until then (no allocation, no fresh pages per blob).
   */
  decompressReused(data: Uint8Array, rawLength: number): Buffer {
    if (rawLength === 0) return Buffer.alloc(0);
    if (this.scratch.length < rawLength) this.scratch = Buffer.allocUnsafeSlow(Math.max(rawLength, 1 << 20));
    return this.decompressInto(this.scratch.subarray(0, rawLength), data);
  }
}

/** Seals a small metadata payload (index, snapshot, lock, tree): compress when it pays. */
export function sealMeta(cipher: BlobCipher, compressor: Compressor, data: Uint8Array): Buffer {
  const c = compressor.compress(data);
  return c ? cipher.seal(FLAG_ZSTD, c) : cipher.seal(FLAG_RAW, data);
}

/** Opens an envelope and undoes compression. */
export function openMeta(cipher: BlobCipher, decompressor: Decompressor, envelope: Uint8Array, rawLength?: number): Buffer {
  const { flag, payload } = cipher.open(envelope);
  return flag === FLAG_ZSTD ? decompressor.decompress(payload, rawLength) : payload;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };

export function deriveKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(
      password.normalize('NFC'),
      salt,
      KEY_LEN,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r * params.p + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}
