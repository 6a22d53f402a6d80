/**
 * A password file must be private to its owner, as ssh insists for a private key: a file that
 * other users can read (or change) is refused with the reason and the fix, at task creation
 * and whenever the password is read.
 */
import { UsageError } from '../errors.js';

/** The refusal for a password file with any group or other permission bit set, if any. */
export function passwordFileModeError(file: string, mode: number): UsageError | undefined {
  if ((mode & 0o077) === 0) return undefined;
  const access = mode & 0o044 ? 'readable' : 'writable';
  const octal = (mode & 0o7777).toString(8).padStart(4, '0');
  return new UsageError(`the password file ${file} is ${access} by other users (mode ${octal}); make it private: chmod 600 ${file}`);
}
