/**
 * Ctrl-C (SIGINT) and SIGTERM during a command that talks to a store: every in-flight store
 * call is abandoned through the signal, and the command ends with "interrupted" (exit 130),
 * whichever error the abandoned calls happened to surface first. The repository stays valid:
 * nothing is half-written, and locks are still released (see RetryingBlobStore.endCancellation).
 */
import { InterruptedError } from '../errors.js';

export async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => abort.abort(new InterruptedError(`interrupted by ${signal}`));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    return await fn(abort.signal);
  } catch (err) {
    throw abort.signal.aborted ? abort.signal.reason : err;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
