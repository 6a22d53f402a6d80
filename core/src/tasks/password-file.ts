/**
 * A password file must be private to its owner: a file that other users can read (or change)
 * is refused with the reason and the fix, at task creation and whenever the password is read.
 * Its owner is not checked: a system-mode run reads the password file of the task's owner.
 */
import type { UsageError } from '../errors.js';
import { privateFileRefusal, type PrivateFileRules } from '../util/private-file.js';

export const PASSWORD_FILE_RULES: PrivateFileRules = { what: 'password file' };

/** The refusal for a password file with any group or other permission bit set, if any. */
export function passwordFileModeError(file: string, mode: number): UsageError | undefined {
  return privateFileRefusal(file, { mode }, PASSWORD_FILE_RULES);
}
