/** Something that can be undone: a registration, a tap, a subscription. */
export interface Disposable {
  dispose(): void;
}

/** Builds a Disposable from a function; calling dispose twice runs it once. */
export function toDisposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      fn();
    },
  };
}
