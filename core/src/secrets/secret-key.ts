/**
 * The per-user key of the plugin secret store: 32 random bytes in a file of their own (0600,
 * in the state folder), made the first time a plugin stores a secret. It lives beside the
 * secrets, so it protects a copy of the secrets file made without it, nothing more (see
 * docs/plugins.md, "Credentials, plugin state and secrets").
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { KEY_LEN } from '../repository/crypto.js';
import { HavenError, UsageError } from '../errors.js';
import { ensureStateDir } from '../util/state-dir.js';
import { ownUid, readPrivateFile, type PrivateFileRules } from '../util/private-file.js';

const rules = (): PrivateFileRules => ({ what: 'plugin secrets key file', owner: ownUid() });

/** The key, or undefined when there is no key file yet. */
export async function readSecretKey(file: string): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await readPrivateFile(file, rules());
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HavenError(`cannot read the plugin secrets key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (key.length !== KEY_LEN) throw new HavenError(`the plugin secrets key file ${file} is damaged (${key.length} bytes, expected ${KEY_LEN})`);
  return key;
}

/**
 * Makes a new key file and returns its key; if one appeared meanwhile, returns that one. The
 * key is written whole to a temporary file and then linked to its name, which never replaces
 * an existing file: a key, once there, is never overwritten (that would lose every secret).
 */
export async function createSecretKey(file: string): Promise<Buffer> {
  await ensureStateDir(path.dirname(file));
  const key = randomBytes(KEY_LEN);
  const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    try {
      await handle.chmod(0o600); // exact, whatever the umask
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.link(temp, file);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readSecretKey(file))!;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
}
