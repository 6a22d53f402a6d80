/**
 * How a storage provider says what went wrong, so the core knows what to do about it.
 *
 * The contract is the `code` property of the rejected error (duck-typed: a plugin with no
 * runtime dependency on Haven sets it on any Error); the classes below are conveniences that
 * set it. What the core does with each code:
 *
 * | code         | meaning                                   | the core                                   |
 * | ------------ | ----------------------------------------- | ------------------------------------------ |
 * | `ENOENT`     | the blob does not exist                   | never retried; "missing" where it matters  |
 * | `ETRANSIENT` | may work if tried again (timeout, 5xx, …) | retried with backoff; `retryAfterMs` kept  |
 * | `EPERMANENT` | will not work if tried again              | not retried; the run fails with the message|
 * | `EAUTH`      | credentials missing, wrong or expired     | not retried; the message says so           |
 * | `EQUOTA`     | no space / quota exceeded                 | not retried                                |
 * | `ECANCELLED` | the call was aborted by its signal        | not retried                                |
 *
 * An error without one of these codes is treated as transient for a bounded number of tries
 * (API 1.0 providers keep working), except Node's own errno codes, which the core classifies
 * (EACCES, EPERM, EROFS: permanent; ENOSPC, EDQUOT: quota).
 *
 * Added in API 1.1.0.
 */

export type StoreErrorCode = 'ENOENT' | 'ETRANSIENT' | 'EPERMANENT' | 'EAUTH' | 'EQUOTA' | 'ECANCELLED';

/** Base of the store errors: a message for the user and a stable `code`. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The blob does not exist (what `get` rejects with for a missing blob). */
export class StoreNotFoundError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENOENT', message, options);
  }
}

/** A failure that may pass: the core retries, waiting at least `retryAfterMs` when given. */
export class TransientStoreError extends StoreError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super('ETRANSIENT', message, options);
  }
}

/** A failure that trying again cannot fix (a refused request, a broken object). */
export class PermanentStoreError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EPERMANENT', message, options);
  }
}

/** Credentials are missing, wrong or expired. */
export class StoreAuthError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EAUTH', message, options);
  }
}

/** The store is full or a quota is exceeded. */
export class StoreQuotaError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EQUOTA', message, options);
  }
}

/** The call was aborted through its AbortSignal. */
export class StoreCancelledError extends StoreError {
  constructor(message = 'cancelled', options?: { cause?: unknown }) {
    super('ECANCELLED', message, options);
  }
}
