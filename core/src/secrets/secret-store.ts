/**
 * The plugin secret store behind PluginContext.secrets: one file per user
 * (HavenPaths.secretsFile, 0600) holding every plugin's secrets, sealed as a whole with
 * AES-256-GCM (the repository's BlobCipher) under the key of secret-key.ts, so neither the
 * values nor which plugins keep what can be read from the file alone.
 *
 *   { "format": "haven-plugin-secrets", "version": 1, "cipher": "aes-256-gcm",
 *     "sealed": base64(flag | nonce | ciphertext | tag) }      plaintext: { pluginId: { name: value } }
 *
 * Changes are read-modify-write under a lock file (two processes storing tokens at once both
 * keep theirs) and land atomically (temporary file, fsync, rename); reads take no lock, as a
 * rename never shows a half-written file. Both files must be the user's own and private, or
 * they are refused.
 */
import * as path from 'node:path';
import type { HavenPaths } from '../config/haven-paths.js';
import { BlobCipher, FLAG_RAW, CIPHER_ALGORITHM } from '../repository/crypto.js';
import { HavenError, UsageError } from '../errors.js';
import { withLock } from '../util/file-lock.js';
import { writeJsonFileAtomic } from '../util/json-file.js';
import { ownUid, readPrivateFile } from '../util/private-file.js';
import { createSecretKey, readSecretKey } from './secret-key.js';

const FORMAT = 'haven-plugin-secrets';
const VERSION = 1;

interface SealedFile {
  format: typeof FORMAT;
  version: number;
  cipher: string;
  sealed: string;
}

/**
 * pluginId → name → value. Maps, not objects: a name such as `__proto__` or `constructor` is
 * then just a name.
 */
type Secrets = Map<string, Map<string, string>>;

export class SecretStore {
  private readonly file: string;
  private readonly keyFile: string;
  private readonly lockFile: string;

  constructor(paths: HavenPaths) {
    this.file = paths.secretsFile;
    this.keyFile = paths.secretsKeyFile;
    this.lockFile = path.join(paths.home, 'locks', 'plugin-secrets.lock');
  }

  async get(pluginId: string, name: string): Promise<string | undefined> {
    const sealed = await this.readSealed();
    if (!sealed) return undefined;
    const key = await readSecretKey(this.keyFile);
    if (!key) throw this.keyMissing();
    return this.unseal(sealed, key).get(pluginId)?.get(name);
  }

  async set(pluginId: string, name: string, value: string): Promise<void> {
    await this.update((secrets) => {
      const own = secrets.get(pluginId) ?? new Map<string, string>();
      own.set(name, value);
      secrets.set(pluginId, own);
      return true;
    });
  }

  async delete(pluginId: string, name: string): Promise<void> {
    await this.update((secrets) => {
      const own = secrets.get(pluginId);
      if (!own?.delete(name)) return false;
      if (own.size === 0) secrets.delete(pluginId);
      return true;
    });
  }

  /** Read, change, write back under the lock; `change` returns false when nothing changed. */
  private async update(change: (secrets: Secrets) => boolean): Promise<void> {
    await withLock(this.lockFile, 'plugin secrets update', async () => {
      const sealed = await this.readSealed();
      let key = await readSecretKey(this.keyFile);
      // Secrets without their key cannot be kept: never seal over them with a new key.
      if (sealed && !key) throw this.keyMissing();
      key ??= await createSecretKey(this.keyFile);
      const secrets = sealed ? this.unseal(sealed, key) : new Map<string, Map<string, string>>();
      if (!change(secrets)) return;
      await writeJsonFileAtomic(this.file, this.seal(secrets, key));
    });
  }

  private async readSealed(): Promise<SealedFile | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readPrivateFile(this.file, { what: 'plugin secrets file', owner: ownUid() });
    } catch (err) {
      if (err instanceof UsageError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new HavenError(`cannot read the plugin secrets file ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let json: Partial<SealedFile>;
    try {
      json = JSON.parse(bytes.toString('utf8')) as Partial<SealedFile>;
    } catch {
      throw this.damaged('not valid JSON');
    }
    if (json?.format !== FORMAT || typeof json.sealed !== 'string') throw this.damaged('not a Haven plugin secrets file');
    if (json.version !== VERSION) throw new HavenError(`the plugin secrets file ${this.file} has version ${json.version}, which this Haven does not know (it knows ${VERSION})`);
    return json as SealedFile;
  }

  private seal(secrets: Secrets, key: Buffer): SealedFile {
    const plain = Object.fromEntries([...secrets].map(([id, own]) => [id, Object.fromEntries(own)]));
    const sealed = new BlobCipher(key).seal(FLAG_RAW, Buffer.from(JSON.stringify(plain), 'utf8'));
    return { format: FORMAT, version: VERSION, cipher: CIPHER_ALGORITHM, sealed: sealed.toString('base64') };
  }

  private unseal(file: SealedFile, key: Buffer): Secrets {
    let plain: unknown;
    try {
      plain = JSON.parse(new BlobCipher(key).open(Buffer.from(file.sealed, 'base64')).payload.toString('utf8'));
    } catch {
      throw new HavenError(
        `the plugin secrets file ${this.file} cannot be decrypted with the key in ${this.keyFile} (one of them was replaced or damaged); ` +
          `remove ${this.file} to start afresh: plugins will ask you to sign in again`,
      );
    }
    const secrets: Secrets = new Map();
    for (const [id, own] of Object.entries(plain as Record<string, Record<string, unknown>>)) {
      const names = new Map<string, string>();
      for (const [name, value] of Object.entries(own)) if (typeof value === 'string') names.set(name, value);
      secrets.set(id, names);
    }
    return secrets;
  }

  private keyMissing(): HavenError {
    return new HavenError(
      `the plugin secrets file ${this.file} is there but its key file ${this.keyFile} is not, so the secrets cannot be read; ` +
        `restore the key file, or remove ${this.file} to start afresh: plugins will ask you to sign in again`,
    );
  }

  private damaged(what: string): HavenError {
    return new HavenError(`the plugin secrets file ${this.file} is damaged (${what}); remove it to start afresh: plugins will ask you to sign in again`);
  }
}
