/**
 * Storage providers: the transport layer. A provider knows named blobs, never backups:
 * chunking, packing, encryption and snapshots belong to the core's repository.
 *
 * Stable since API 1.0.0; `BlobStore.putIfAbsent`, `sweepTemporaries`, `capabilities`,
 * `freeSpace`, `putStream`, `getStream`, the `StoreCallOptions` argument and `list` as an async
 * iterable added in 1.1.0.
 */

/** A byte range of a blob, for partial reads (pack files are read piecewise). */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * Passed to every store call since API 1.1.0 (a 1.0 provider ignores it): the call should stop
 * and reject with code `ECANCELLED` when `signal` aborts (Ctrl-C, the service stopping). The
 * core stops waiting for it either way, so a provider that cannot abort is still safe.
 */
export interface StoreCallOptions {
  signal?: AbortSignal;
}

/** What a store knows of one blob. `name` is the full blob name, e.g. `data/ab/ab12…`. */
export interface BlobInfo {
  name: string;
  size: number;
}

/**
 * A flat namespace of immutable blobs. Names are `/`-separated relative paths made of
 * `[A-Za-z0-9._-]` segments; a provider maps them onto its own medium.
 *
 * Failures reject with an Error whose `code` says what kind of failure it is (store-errors.ts:
 * ENOENT, ETRANSIENT, EPERMANENT, EAUTH, EQUOTA, ECANCELLED); the core retries transient ones,
 * so a provider never needs a retry loop of its own.
 */
export interface BlobStore {
  /** Human-readable location, safe to print (no credentials). */
  readonly description: string;
  /** What this store can do; optional, since API 1.1.0. */
  readonly capabilities?: StoreCapabilities;
  /**
   * Stores a blob atomically: a reader sees all of it or nothing, never a partial blob.
   * Overwrites an existing blob of the same name.
   */
  put(name: string, data: Uint8Array, options?: StoreCallOptions): Promise<void>;
  /**
   * Reads a blob, or a range of it. Rejects with an error whose code is 'ENOENT' when it does
   * not exist — and only then: a store that cannot be reached (a drive unplugged, a server
   * down) must never answer "not found", or the core would take present data for lost.
   *
   * Ranges (enforced by the conformance kit): the bytes from `offset` up to
   * `offset + length` or the end of the blob, whichever comes first; a zero `length`, or an
   * `offset` equal to the size, gives an empty Buffer; an `offset` past the size rejects (any
   * code but ENOENT).
   */
  get(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<Buffer>;
  /**
   * Lists every blob whose name starts with `prefix` (e.g. `snapshots/`), in no set order,
   * never a temporary of a `put` in progress. Since API 1.1.0 it may return an async iterable
   * instead of an array, so a store with millions of objects can page through them; the core
   * accepts both.
   */
  list(prefix: string, options?: StoreCallOptions): Promise<BlobInfo[]> | AsyncIterable<BlobInfo>;
  /** Deletes a blob; deleting a missing blob is not an error. */
  delete(name: string, options?: StoreCallOptions): Promise<void>;
  /** Size of a blob, or null when it does not exist. */
  stat(name: string, options?: StoreCallOptions): Promise<BlobInfo | null>;
  /** Releases connections and handles. */
  close(): Promise<void>;
  /**
   * Stores a blob only if no blob of that name exists, atomically: of two callers racing for
   * one name exactly one gets `true`, the other `false` and the winner's blob stays whole.
   * Used for what must exist once (the repository `config`). A store that cannot offer this
   * (no exclusive create, no conditional put) leaves it out; the core then falls back to a
   * create-then-re-read protocol, which is weaker (see docs/repository-format.md).
   * Optional, since API 1.1.0.
   */
  putIfAbsent?(name: string, data: Uint8Array, options?: StoreCallOptions): Promise<boolean>;
  /**
   * Removes temporaries left behind by writers that died mid-`put` (a killed process), never
   * those of a writer still at work; with `dryRun` only counts them. Optional, since API 1.1.0.
   */
  sweepTemporaries?(options: { dryRun: boolean }): Promise<TemporarySweep>;
  /**
   * Bytes that can still be written at this destination (free space, or what is left of a
   * quota), or undefined when the store cannot tell right now. The core refuses a backup up
   * front when it plainly needs more. Optional, since API 1.1.0.
   */
  freeSpace?(options?: StoreCallOptions): Promise<number | undefined>;
  /**
   * `put` from a stream of chunks whose total is `size` bytes, for blobs too large to hold in
   * one buffer; same atomicity as `put` (a reader never sees a partial blob). The core calls
   * it with a fresh stream for each attempt. A store without it is given the chunks joined
   * into one buffer through `put`. Optional, since API 1.1.0.
   */
  putStream?(name: string, data: AsyncIterable<Uint8Array>, size: number, options?: StoreCallOptions): Promise<void>;
  /**
   * `get` as a stream of chunks. Rejects (before the first chunk) exactly as `get` does,
   * ENOENT included; the range rules are `get`'s. A store without it is read through `get`.
   * Optional, since API 1.1.0.
   */
  getStream?(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<AsyncIterable<Uint8Array>>;
}

/**
 * What a store can and cannot do (API 1.1; every field optional, a 1.0 store gets the
 * defaults). The core honours them; see docs/plugins.md.
 */
export interface StoreCapabilities {
  /** Most calls the core may have in flight at once on this store (default: no limit of the store's own). */
  maxConcurrency?: number;
  /** Whether `get` honours a ByteRange (default true); when false the core reads whole blobs and slices them. */
  ranges?: boolean;
  /**
   * Whether a blob shows in `list` as soon as its `put` resolved (default 'strong'). With
   * 'eventual' the core never concludes from one listing that a blob is absent: it waits
   * before re-reading the locks, and confirms a pack it misses with `stat`.
   */
  listAfterWrite?: 'strong' | 'eventual';
  /**
   * Whether `put` over an existing blob replaces it atomically, so a reader sees the old blob
   * or the new one, whole (default true: the 1.0 contract of `put`). A store that cannot (some
   * network file systems, WebDAV servers that truncate then write) says false, and the core
   * then never overwrites a blob that others may be reading: a lock is refreshed by writing a
   * new lock blob and deleting the old one.
   */
  atomicReplace?: boolean;
}

/** What `sweepTemporaries` found (and removed unless it was a dry run). */
export interface TemporarySweep {
  count: number;
  bytes: number;
}

/** Whether a destination can be reached now; when not, a run is skipped with `reason`. */
export type Availability = { available: true } | { available: false; reason: string };

/** A destination as the user wrote it: `TYPE:LOCATION`, parsed by the provider of TYPE. */
export interface DestinationRef {
  type: string;
  location: string;
}

/** What a provider needs to open a destination beyond the location itself. */
export interface OpenOptions {
  /**
   * The credentials the provider's manifest declares (`StorageProviderContribution.credentials`),
   * read by the host from their environment variables or the user's credentials file, keyed by
   * credential name. Since API 1.1.0; undefined when the provider declares none. An optional
   * credential the user did not give is absent; a required one is always present (the host
   * fails before `open` otherwise). Never log or echo these values.
   */
  credentials?: Record<string, string>;
  /**
   * Create the location if it does not exist. Set exactly when: a task's run found no
   * repository there with `create` unset (its first backup: the core first opens without it),
   * and `haven plugins check`. Every other open (restore, check, snapshots, later runs) leaves
   * it unset, and the store should then fail if the location is not there rather than make
   * an empty one. Must be idempotent: two first backups at once may both set it for the same
   * location, and it may be set for a location that already exists.
   */
  create?: boolean;
}

/** A kind of destination, contributed by a plugin (e.g. `local`, `online`). */
export interface StorageProvider {
  /** The TYPE in `TYPE:LOCATION`; must match a type the plugin's manifest contributes. */
  readonly type: string;
  /**
   * Checks the LOCATION syntax. Returns a normalised location, or throws an Error whose
   * message says what is wrong (shown to the user as bad input, exit 2).
   */
  validateLocation(location: string): string;
  /**
   * A warning worth showing when a user picks this destination for these sources, e.g. the
   * destination is on the same drive as a source. Optional.
   */
  adviseOn?(location: string, sources: readonly string[]): Promise<string | undefined>;
  /** Whether the destination can be reached right now. */
  checkAvailability(location: string): Promise<Availability>;
  /** Opens the destination as a blob store. */
  open(location: string, options: OpenOptions): Promise<BlobStore>;
  /**
   * The devices this provider can reach now (the removable drives connected), for `haven
   * drives`. Optional; since API 1.2.0.
   */
  listDevices?(): Promise<DeviceInfo[]>;
}

/** A device a provider can reach now (API 1.2.0). */
export interface DeviceInfo {
  /** What a location names it by, e.g. its label (or its UUID when it has none). */
  name: string;
  /** The file system's UUID, when known. */
  uuid?: string;
  label?: string;
  fileSystem?: string;
  mountPoint?: string;
  /** Bytes free for the user asking. */
  freeBytes?: number;
}
