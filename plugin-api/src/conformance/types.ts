/** The shapes of the storage conformance kit: a case, what it is given, what a run reports. */
import type { BlobInfo, BlobStore, StoreCallOptions } from '../storage.js';

/** What a case may tune; the runner fills in the defaults (DEFAULT_SETTINGS). */
export interface ConformanceSettings {
  /** Size of the large-blob round trip, in bytes (64 MiB by default; the full run is 300 MB). */
  largeBytes: number;
  /** How many blobs the list case writes and lists back (10,000 by default). */
  listCount: number;
  /**
   * Opens the store under test as it is when it cannot be reached (the drive unplugged, the
   * server stopped, the network down), for the case that checks an unreachable store never
   * answers "not found". Without it that case is skipped: only the author knows how to make
   * their medium unreachable.
   */
  openUnreachable?: () => Promise<BlobStore>;
}

export const DEFAULT_SETTINGS: ConformanceSettings = { largeBytes: 64 * 1024 * 1024, listCount: 10_000 };

export interface CaseContext {
  /**
   * Where the blobs of this case live in the store under test. The case does not add it: the
   * store it is given is a view that does, so case code uses plain names (`a/b/c`).
   */
  readonly prefix: string;
  readonly settings: ConformanceSettings;
  /** Ends the case as skipped (never passed), e.g. the store has no optional method to test. */
  skip(reason: string): never;
}

/**
 * The store a case is given: the store under test seen below the case's prefix, with `list`
 * answering an array whether the store under test pages (async iterable) or not.
 */
export interface CaseStore extends Omit<BlobStore, 'list'> {
  list(prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]>;
}

export interface ConformanceCase {
  /** Stable, human-readable; printed by the CLI and used as the mocha test title. */
  name: string;
  /** Throws an Error whose message says what was expected and what happened. */
  run(store: CaseStore, ctx: CaseContext): Promise<void>;
}

export type CaseStatus = 'passed' | 'failed' | 'skipped';

export interface CaseResult {
  name: string;
  status: CaseStatus;
  /** True only when the case passed: a skipped case is not ok, and not failed either. */
  ok: boolean;
  ms: number;
  /** Why it failed (status `failed`). */
  error?: string;
  /** Why it was skipped (status `skipped`). */
  skipped?: string;
}

export interface ConformanceResult {
  cases: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
}

export interface ConformanceOptions extends Partial<ConformanceSettings> {
  /** Runs only the cases whose name this accepts. */
  filter?: (name: string) => boolean;
  /** Called as each case ends (the CLI prints a line per case as it goes). */
  onResult?: (result: CaseResult) => void;
  /** The prefix every case writes under (default: `haven-conformance-<random>/`); must end with `/`. */
  prefix?: string;
}
