/** `haven restore NAME [--snapshot ID|latest] [--path P]... --to DIR [--conflict …]`. */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { client } from '../cli-context.js';
import { interruptible } from '../interruptible.js';
import { createProgress } from '../progress.js';
import { formatBytes, printJson, printLines, type CommonOptions } from '../output.js';
import { ExitCode } from '../../errors.js';
import type { CommandAction } from '../command-action.js';

export function registerRestoreCommand(program: Command, action: CommandAction): void {
  program.command('restore <name>').description('restore a version, or chosen paths of it, into a folder')
    .option('--snapshot <id>', 'version id (or unique prefix), or "latest"', 'latest')
    .option('--path <path>', 'restore only this path of the version (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .requiredOption('--to <dir>', 'folder to restore into')
    .addOption(new Option('--conflict <policy>', 'when a file exists already').choices(['overwrite', 'skip', 'rename']).default('rename'))
    .option('--no-lock', 'read without locking the repository (a read-only drive or a full disk is read without a lock anyway)')
    .option('--json', 'print the result as JSON')
    .option('--progress', 'show progress even when stderr is not a terminal')
    .action(action(async (name: string, o: CommonOptions & { snapshot: string; path?: string[]; to: string; conflict: 'overwrite' | 'skip' | 'rename'; lock: boolean }) => {
      const target = path.resolve(o.to);
      const progress = createProgress('restore', o);
      const result = await interruptible((signal) =>
        client().call('restore', { name, options: { snapshot: o.snapshot, paths: o.path, target, conflict: o.conflict, noLock: o.lock === false } }, { signal, onProgress: (p) => progress.update(p) }),
      ).finally(() => progress.stop());
      if (o.json) printJson(result);
      else {
        printLines([
          `restored version ${result.snapshotId.slice(0, 12)} into ${target}: ${result.files} files, ${result.dirs} folders, ${formatBytes(result.bytes)}` +
            (result.skipped ? `, ${result.skipped} existing skipped` : '') + (result.renamed ? `, ${result.renamed} renamed` : ''),
          ...result.refused.map((e) => `  refused: ${e.path}: ${e.message}`),
          ...result.errors.map((e) => `  failed: ${e.path}: ${e.message}`),
        ]);
      }
      return result.errors.length || result.refused.length ? ExitCode.PARTIAL : ExitCode.SUCCESS;
    }));
}
