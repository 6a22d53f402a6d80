/**
 * Errors that reach the user. Each kind carries the exit code of the CLI contract, so the
 * CLI maps an error to an exit code in one place and prints one clear line.
 */
export const ExitCode = Object.freeze({
  SUCCESS: 0,
  FAILED: 1,
  USAGE: 2,
  PARTIAL: 3,
  SKIPPED: 4,
  DENIED: 5,
  WRONG_PASSWORD: 12,
  INTERRUPTED: 130,
});

export class HavenError extends Error {
  readonly exitCode: number = ExitCode.FAILED;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad usage or bad input; the message says what and where (exit 2). */
export class UsageError extends HavenError {
  override readonly exitCode = ExitCode.USAGE;
}

/** The destination is not reachable or its provider is disabled (exit 4). */
export class SkippedError extends HavenError {
  override readonly exitCode = ExitCode.SKIPPED;
}

/** A storage provider a task needs is not installed (any more): its run is skipped (exit 4). */
export class ProviderNotInstalledError extends SkippedError {}

/** A plugin's code threw while loading or activating (exit 1): a failure, not bad usage. */
export class PluginFailedError extends HavenError {}

/** Access rights forbid the action (exit 5). */
export class DeniedError extends HavenError {
  override readonly exitCode = ExitCode.DENIED;
}

/** The repository password does not open any key (exit 12). */
export class WrongPasswordError extends HavenError {
  override readonly exitCode = ExitCode.WRONG_PASSWORD;
}

/** No repository at the destination, or it is not a Haven repository. */
export class RepositoryNotFoundError extends HavenError {}

/** A repository exists already where one was to be created (or another process made it first). */
export class RepositoryExistsError extends UsageError {}

/** The repository is damaged; the message names what. */
export class RepositoryCorruptError extends HavenError {}

/** A lock held by another live process stops this operation. */
export class RepositoryLockedError extends HavenError {}

/**
 * A store call failed for good (after the retries a transient failure gets): the message
 * names the store and carries the provider's own words; `code` is the provider's (or the
 * file system's) code, `kind` what the core made of it.
 */
export class StorageError extends HavenError {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly kind: 'transient' | 'permanent' | 'auth' | 'quota' | 'cancelled',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A credential a storage provider declares as required was given neither in its environment
 * variable nor in the credentials file: an authentication failure, found before the provider
 * is asked to open anything (exit 1).
 */
export class CredentialsMissingError extends StorageError {
  constructor(message: string) {
    super(message, 'EAUTH', 'auth');
  }
}

/** Ctrl-C (SIGINT) or SIGTERM stopped the command; what it did is recorded (exit 130). */
export class InterruptedError extends HavenError {
  override readonly exitCode = ExitCode.INTERRUPTED;
}

/** A blob the repository needs is missing from the store. */
export class BlobNotFoundError extends HavenError {
  readonly code = 'ENOENT';
}
