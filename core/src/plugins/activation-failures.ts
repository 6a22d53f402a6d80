/**
 * Activation failures outlive the process that saw them: every `haven` command is a new
 * process and plugins load lazily, so without a record `plugins list` would call a plugin
 * whose code throws `ready` for ever. A failure is kept (in the user's state folder) for the
 * exact code that failed — same folder, version and main file modification time — and is
 * forgotten once that plugin activates, or its code changes.
 */
import { promises as fs } from 'node:fs';
import { readJsonFile, writeJsonFileAtomic } from '../util/json-file.js';
import { withLock } from '../util/file-lock.js';

export interface ActivationFailure {
  version: string;
  dir: string;
  /** mtime of the plugin's main file when it failed. */
  mainMtimeMs: number;
  message: string;
  at: string;
}

type FailureFile = Record<string, ActivationFailure>;

export class ActivationFailures {
  constructor(private readonly file: string) {}

  async read(): Promise<FailureFile> {
    try {
      return (await readJsonFile<FailureFile>(this.file)) ?? {};
    } catch {
      return {}; // a damaged record of failures is no reason to fail: it only informs
    }
  }

  /** The recorded failure of this plugin's current code, if any. */
  static matches(failure: ActivationFailure | undefined, plugin: { version: string; dir: string }, mainMtimeMs: number | undefined): boolean {
    return !!failure && failure.version === plugin.version && failure.dir === plugin.dir && failure.mainMtimeMs === mainMtimeMs;
  }

  async record(id: string, failure: ActivationFailure): Promise<void> {
    await this.change((all) => {
      all[id] = failure;
    });
  }

  async clear(id: string): Promise<void> {
    if (!(id in (await this.read()))) return;
    await this.change((all) => {
      delete all[id];
    });
  }

  private async change(fn: (all: FailureFile) => void): Promise<void> {
    // withLock and writeJsonFileAtomic create the state folder (private) when needed.
    await withLock(`${this.file}.lock`, 'plugin failure record', async () => {
      const all = await this.read();
      fn(all);
      await writeJsonFileAtomic(this.file, all);
    });
  }
}

export async function mainFileMtime(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}
