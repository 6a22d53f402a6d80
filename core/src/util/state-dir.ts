/**
 * State folders get an exact mode (0700 by default: private to their user) whatever the umask.
 * mkdir's mode is reduced by the umask and never widened, so the folders we create are
 * chmod-ed to the mode asked for; a folder that already existed is left as its owner made it.
 */
import { chmodSync, mkdirSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * The folders a recursive mkdir of `dir` created, given the first one it reports (undefined
 * when all existed): every folder from there down to `dir` is ours.
 */
function createdFolders(dir: string, first: string | undefined): string[] {
  if (!first) return [];
  const top = path.resolve(first);
  const folders: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    folders.push(current);
    if (current === top || current === path.dirname(current)) return folders;
  }
}

export async function ensureStateDir(dir: string, mode = 0o700): Promise<void> {
  for (const folder of createdFolders(dir, await fs.mkdir(dir, { recursive: true, mode }))) await fs.chmod(folder, mode);
}

/** The same, for a synchronous getter (PluginContext.storagePath is created on first read). */
export function ensureStateDirSync(dir: string, mode = 0o700): void {
  for (const folder of createdFolders(dir, mkdirSync(dir, { recursive: true, mode }))) chmodSync(folder, mode);
}
