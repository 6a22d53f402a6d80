/**
 * The hooks a plugin may tap. Only the core calls hooks; plugins only tap, and every tap is
 * tagged with the plugin's id, so disabling or deactivating a plugin removes its taps.
 * A tap that throws is reported and skipped; it never takes the host down.
 *
 * Stable since API 1.0.0.
 */
import type { Disposable } from './disposable.js';
import type { ContentSource, ScanEntry, SourceClaim } from './source.js';
import type { AuthRequest, RunRecord, RunRequest, Veto } from './records.js';

/** Order taps: lower stages run first (default 0). */
export const HookStage = Object.freeze({ EARLY: -100, DEFAULT: 0, LATE: 100 });

export interface TapOptions {
  stage?: number;
}

/** A hook a plugin can tap; `fn`'s result combines as the hook's kind says. */
export interface Tappable<Args extends unknown[], R> {
  tap(fn: (...args: Args) => R | Promise<R>, options?: TapOptions): Disposable;
}

/** Scanning: who owns a source, and what marks each entry carries. */
export interface ScanHooks {
  /** Bail: the first handler to return a claim owns the source folder. */
  readonly claimSource: Tappable<[sourcePath: string], SourceClaim | undefined>;
  /** Waterfall: each tap may add annotations to the entry and returns it. */
  readonly annotateEntry: Tappable<[entry: ScanEntry], ScanEntry>;
}

/** Copying: where an entry's bytes come from; before/after each file. */
export interface CopyHooks {
  /** Bail: the first tap returning a ContentSource supplies the content (e.g. hydration). */
  readonly openContent: Tappable<[entry: ScanEntry], ContentSource | undefined>;
  /** Series: before a file is read. */
  readonly beforeFile: Tappable<[entry: ScanEntry], void>;
  /** Series: after a file is stored (error set when it could not be read). */
  readonly afterFile: Tappable<[entry: ScanEntry, error: Error | undefined], void>;
}

/** Scheduling: a run is due, may it start, it ended. */
export interface ScheduleHooks {
  /** Series: a run became due (schedule, catch-up or drive connected). */
  readonly runDue: Tappable<[request: RunRequest], void>;
  /** Bail: any tap returning a Veto stops the run, which is recorded as skipped. */
  readonly shouldStartRun: Tappable<[request: RunRequest], Veto | undefined>;
  /** Series: a run finished, with its record. */
  readonly afterRun: Tappable<[record: RunRecord], void>;
}

/** Authorization: any tap may deny with a reason. */
export interface AuthorizeHooks {
  /** Bail: a Veto denies the action (exit 5). */
  readonly shouldDeny: Tappable<[request: AuthRequest], Veto | undefined>;
}

/** The four hook families, as a plugin sees them. */
export interface PluginHooks {
  readonly scan: ScanHooks;
  readonly copy: CopyHooks;
  readonly schedule: ScheduleHooks;
  readonly authorize: AuthorizeHooks;
}
