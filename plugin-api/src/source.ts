/**
 * Source handlers and the entries the scanner sees. A handler (e.g. OneDrive) claims the
 * sources it understands, marks entries, and may supply an entry's content itself.
 *
 * Stable since API 1.0.0.
 */

/** One file-system entry as the scanner found it (lstat view, absolute path). */
export interface ScanEntry {
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtimeMs: number;
  /** Free-form marks added by handlers, e.g. `{ cloudOnly: true }`. */
  annotations: Record<string, unknown>;
}

/** A handler's answer that it owns a source folder. */
export interface SourceClaim {
  handler: string;
  /** Shown in logs and run records, e.g. "OneDrive (personal)". */
  description?: string;
}

/** Content supplied by a handler instead of reading the local file. */
export interface ContentSource {
  size: number;
  /** Reads the whole content as a stream of chunks; the engine chunks it itself. */
  open(): AsyncIterable<Uint8Array>;
}

/** A contributed source handler; its hooks are tapped through the PluginContext. */
export interface SourceHandler {
  readonly id: string;
  /** Does this handler own the given source folder? */
  claims(sourcePath: string): Promise<SourceClaim | undefined>;
}
