/**
 * Computer-wide settings, kept in the system state folder and changed only by an
 * administrator: which plugins are disabled (only the disabled list is stored, with who and
 * when, so new plugins are enabled by default) and which groups count as administrators.
 */
import { injectable, inject } from 'inversify';
import { HavenPaths as HavenPathsId } from '../di/service-identifiers.js';
import type { HavenPaths } from './haven-paths.js';
import { readJsonFile, writeJsonFileAtomic } from '../util/json-file.js';
import { withLock } from '../util/file-lock.js';
import { ensureStateDir } from '../util/state-dir.js';
import { DEFAULT_ADMIN_GROUPS } from '../auth/identity.js';
import { HavenError } from '../errors.js';

export interface DisabledPlugin {
  id: string;
  by: string;
  at: string;
}

export interface SystemSettings {
  /** Members of any of these groups are administrators (root always is). */
  adminGroups: string[];
  disabledPlugins: DisabledPlugin[];
}

export interface SystemSettingsStore {
  read(): Promise<SystemSettings>;
  update(change: (settings: SystemSettings) => void): Promise<SystemSettings>;
}

/** `adminGroups` as stored; an older settings file's single `adminGroup` still counts. */
function adminGroupsOf(stored: { adminGroups?: unknown; adminGroup?: unknown } | undefined): string[] {
  if (Array.isArray(stored?.adminGroups) && stored.adminGroups.every((g) => typeof g === 'string')) return stored.adminGroups;
  if (typeof stored?.adminGroup === 'string') return [stored.adminGroup];
  return [...DEFAULT_ADMIN_GROUPS];
}

@injectable()
export class SystemSettingsStoreImpl implements SystemSettingsStore {
  constructor(@inject(HavenPathsId) private readonly paths: HavenPaths) {}

  async read(): Promise<SystemSettings> {
    const stored = await readJsonFile<Partial<SystemSettings> & { adminGroup?: unknown }>(this.paths.systemSettingsFile);
    return {
      adminGroups: adminGroupsOf(stored),
      disabledPlugins: Array.isArray(stored?.disabledPlugins) ? stored.disabledPlugins : [],
    };
  }

  async update(change: (settings: SystemSettings) => void): Promise<SystemSettings> {
    const file = this.paths.systemSettingsFile;
    try {
      // 0755 exactly, whatever the umask: every user reads the settings.
      await ensureStateDir(this.paths.systemDir, 0o755);
      return await withLock(`${file}.lock`, 'system settings update', async () => {
        const settings = await this.read();
        change(settings);
        // Readable by every user (they must know what is disabled), writable by root only.
        await writeJsonFileAtomic(file, settings, 0o644, 0o755);
        return settings;
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new HavenError(`cannot write the system settings in ${this.paths.systemDir}: permission denied (run as root)`);
      }
      throw err;
    }
  }
}
