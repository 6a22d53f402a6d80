/**
 * Opening a task's repository: resolve the provider (activating its plugin), check the
 * destination is reachable, read the password from the environment or the task's password
 * file, then open (or, for a first backup, create) the repository.
 */
import { readFile } from 'node:fs/promises';
import { inject, injectable } from 'inversify';
import { PluginHost as PluginHostId } from '../di/service-identifiers.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { initRepository, openRepository, repositoryExists, type Repository } from '../engine/index.js';
import { RepositoryNotFoundError, SkippedError, UsageError } from '../errors.js';
import { parseDestination, type Task } from './task.js';

export interface RepositoryService {
  open(task: Task, options: { create: boolean }): Promise<Repository>;
}

/** The repository password, never from the command line (cli.md). */
export async function resolvePassword(task: Pick<Task, 'encryption' | 'passwordFile' | 'name'>): Promise<string | null> {
  if (task.encryption === 'none') return null;
  const fromEnv = process.env.HAVEN_PASSWORD;
  if (fromEnv) return fromEnv;
  if (task.passwordFile) {
    // Imported here so that this check stays within this function.
    const { open } = await import('node:fs/promises');
    const { passwordFileModeError } = await import('./password-file.js');
    let text: string;
    try {
      // Mode and content from one open file: the file checked is the file read.
      const handle = await open(task.passwordFile, 'r');
      try {
        const refused = passwordFileModeError(task.passwordFile, (await handle.stat()).mode);
        if (refused) throw refused;
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`cannot read the password file ${task.passwordFile} of task "${task.name}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const password = text.replace(/\r?\n$/, '');
    if (!password) throw new UsageError(`the password file ${task.passwordFile} is empty`);
    return password;
  }
  throw new UsageError(`task "${task.name}" has an encrypted repository: give its password with HAVEN_PASSWORD or the task's --password-file`);
}

@injectable()
export class RepositoryServiceImpl implements RepositoryService {
  constructor(@inject(PluginHostId) private readonly plugins: PluginHost) {}

  async open(task: Task, options: { create: boolean }): Promise<Repository> {
    const { type, location } = parseDestination(task.destination);
    const provider = await this.plugins.storageProvider(type);
    const availability = await provider.checkAvailability(location);
    if (!availability.available) throw new SkippedError(`destination ${task.destination} is not available: ${availability.reason}`);
    const password = await resolvePassword(task);
    const store = await provider.open(location, { create: options.create });
    try {
      if (await repositoryExists(store)) return await openRepository(store, { password });
      if (!options.create) throw new RepositoryNotFoundError(`there is no repository at ${task.destination} yet (run the task first)`);
      return await initRepository(store, { password });
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }
}
