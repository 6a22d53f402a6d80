/**
 * Files that hold secrets (password files, the credentials file, the plugin secret store and
 * its key) must be private to their owner, as ssh insists for a private key: a file other
 * users can read (or change) is refused with the reason and the fix, never read.
 */
import { open } from 'node:fs/promises';
import { UsageError } from '../errors.js';

export interface PrivateFileRules {
  /** What the file is, for the message: "password file", "credentials file", … */
  what: string;
  /**
   * Also refuse a file that is not owned by this uid. Files that are ours by definition (our
   * own state, our own credentials) get this rule; a task's password file does not, as a
   * system-mode run reads files of the task's owner.
   */
  owner?: number;
}

/** The refusal for a file with any group or other permission bit set, or the wrong owner, if any. */
export function privateFileRefusal(file: string, stat: { mode: number; uid?: number }, rules: PrivateFileRules): UsageError | undefined {
  if (rules.owner !== undefined && stat.uid !== undefined && stat.uid !== rules.owner) {
    return new UsageError(`the ${rules.what} ${file} belongs to another user (uid ${stat.uid}, you are uid ${rules.owner}); Haven reads it only when it is yours: chown it to yourself, then chmod 600 ${file}`);
  }
  if ((stat.mode & 0o077) === 0) return undefined;
  const access = stat.mode & 0o044 ? 'readable' : 'writable';
  const octal = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  return new UsageError(`the ${rules.what} ${file} is ${access} by other users (mode ${octal}); make it private: chmod 600 ${file}`);
}

/**
 * Reads a private file, judging mode and owner on the open file itself: the file checked is
 * the file read, even if the path is replaced in between. Rejects with the refusal
 * (UsageError), or with the file system's error (ENOENT for a missing file) for the caller to
 * word.
 */
export async function readPrivateFile(file: string, rules: PrivateFileRules): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const refused = privateFileRefusal(file, await handle.stat(), rules);
    if (refused) throw refused;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The uid Haven runs as, for the owner rule (undefined where there are no uids). */
export const ownUid = (): number | undefined => process.getuid?.();
