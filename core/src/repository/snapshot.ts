/** Snapshot records: one per backup run, stored as `snapshots/<id>` (sealed JSON). */

export interface Snapshot {
  v: 1;
  time: string;
  taskId: string;
  task: string;
  runId: string;
  host: string;
  user: string;
  sources: string[];
  /** Root tree: one node per source, named after its last path segment. */
  tree: string;
  parent?: string;
  files: number;
  dirs: number;
  /** Logical bytes seen. */
  bytes: number;
  bytesAdded: number;
  errors: number;
  /** Source handlers that claimed a source (by source path). */
  claims?: Record<string, { handler: string; description?: string }>;
  /**
   * Set by `haven repair snapshots` on the version it wrote in place of a damaged one: which
   * one, when, and what was lost (files cut short at their first lost chunk, folders emptied).
   */
  repaired?: { original: string; time: string; files: number; dirs: number };
}
