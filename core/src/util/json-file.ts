/**
 * Small JSON state files written atomically (temp file, fsync, rename): a crash never leaves a
 * half-written file, and a file we cannot parse is reported, never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { HavenError } from '../errors.js';
import { ensureStateDir } from './state-dir.js';

export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HavenError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new HavenError(`${file} is damaged (not valid JSON: ${(err as Error).message}); it was left untouched`);
  }
}

export async function writeJsonFileAtomic(file: string, value: unknown, mode = 0o600, dirMode = 0o700): Promise<void> {
  await ensureStateDir(path.dirname(file), dirMode);
  // A unique temp name: concurrent writers never share (and rename away) each other's temp.
  const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(temp, 'wx', mode);
  try {
    try {
      await handle.chmod(mode); // open's mode is reduced by the umask; the file's mode is ours to set
      await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
