/**
 * State folders get an exact mode (0700 by default: private to their user) whatever the umask.
 * mkdir's mode is reduced by the umask and never widened, so the folders we create are
 * chmod-ed to the mode asked for; a folder that already existed is left as its owner made it.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function ensureStateDir(dir: string, mode = 0o700): Promise<void> {
  // recursive mkdir returns the first folder it created (undefined when all existed): every
  // folder from there down to `dir` is ours.
  const first = await fs.mkdir(dir, { recursive: true, mode });
  if (!first) return;
  const top = path.resolve(first);
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    await fs.chmod(current, mode);
    if (current === top || current === path.dirname(current)) break;
  }
}
