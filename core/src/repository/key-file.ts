/**
 * Key files (`keys/<id>`): the master keys wrapped with a key derived from a password by
 * scrypt. A key file carries a plain SHA-256 `check` of its own fields, so that damage (a
 * flipped byte, a truncated file) is told apart from a wrong password: AES-GCM alone fails
 * the same way for both.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { BlobCipher, FLAG_RAW, deriveKey, type MasterKeys, type ScryptParams } from './crypto.js';

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
  /** SHA-256 (hex) of `kdf|N|r|p|salt|data`; absent in key files of older Havens. */
  check?: string;
}

/** What one key file says to a password. */
export type KeyFileOutcome =
  | { kind: 'opened'; repo: string; keys: MasterKeys; created: string }
  | { kind: 'wrong-password' }
  | { kind: 'damaged'; reason: string };

function checksum(f: Pick<KeyFile, 'kdf' | 'N' | 'r' | 'p' | 'salt' | 'data'>): string {
  return createHash('sha256').update(`${f.kdf}|${f.N}|${f.r}|${f.p}|${f.salt}|${f.data}`).digest('hex');
}

export function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

export async function sealKeyFile(keys: MasterKeys, repoId: string, password: string, params: ScryptParams): Promise<Buffer> {
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
  const fields = { kdf: 'scrypt' as const, N: params.N, r: params.r, p: params.p, salt: salt.toString('base64'), data: new BlobCipher(wrapKey).seal(FLAG_RAW, plain).toString('base64') };
  const file: KeyFile = { ...fields, created: new Date().toISOString(), host: os.hostname(), user: safeUser(), check: checksum(fields) };
  return Buffer.from(JSON.stringify(file, null, 2) + '\n');
}

const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** Why a parsed key file cannot be used, or null when it looks whole. */
function damage(f: Partial<KeyFile>): string | null {
  if (f.kdf !== 'scrypt') return `unknown key derivation "${String(f.kdf)}"`;
  if (!isPositiveInt(f.N) || !isPositiveInt(f.r) || !isPositiveInt(f.p)) return 'scrypt parameters are missing or invalid';
  if (typeof f.salt !== 'string' || Buffer.from(f.salt, 'base64').length !== 32) return 'salt is missing or not 32 bytes';
  if (typeof f.data !== 'string' || Buffer.from(f.data, 'base64').length < 1 + 12 + 16) return 'wrapped keys are missing or too short';
  if (f.check !== undefined && f.check !== checksum(f as KeyFile)) return 'its checksum does not match its content';
  return null;
}

export async function openKeyFile(raw: Buffer, password: string): Promise<KeyFileOutcome> {
  let file: Partial<KeyFile>;
  try {
    file = JSON.parse(raw.toString('utf8')) as Partial<KeyFile>;
  } catch {
    return { kind: 'damaged', reason: 'not valid JSON' };
  }
  if (!file || typeof file !== 'object') return { kind: 'damaged', reason: 'not a key file' };
  const why = damage(file);
  if (why) return { kind: 'damaged', reason: why };
  const wrapKey = await deriveKey(password, Buffer.from(file.salt!, 'base64'), { N: file.N!, r: file.r!, p: file.p! });
  let plain: Buffer;
  try {
    plain = new BlobCipher(wrapKey).open(Buffer.from(file.data!, 'base64')).payload;
  } catch {
    return { kind: 'wrong-password' };
  }
  try {
    const k = JSON.parse(plain.toString('utf8')) as { repo: string; encKey: string; macKey: string; chunkerSeed: string };
    const keys = { encKey: Buffer.from(k.encKey, 'base64'), macKey: Buffer.from(k.macKey, 'base64'), chunkerSeed: Buffer.from(k.chunkerSeed, 'base64') };
    if (typeof k.repo !== 'string' || keys.encKey.length !== 32 || keys.macKey.length !== 32 || keys.chunkerSeed.length !== 32) {
      return { kind: 'damaged', reason: 'the wrapped keys are incomplete' };
    }
    return { kind: 'opened', repo: k.repo, keys, created: typeof file.created === 'string' ? file.created : new Date(0).toISOString() };
  } catch {
    return { kind: 'damaged', reason: 'the wrapped keys are not valid JSON' };
  }
}
