/** `haven snapshots NAME`, `haven ls NAME [SNAPSHOT] [PATH]`: Ctrl-C stops them (exit 130). */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { formatBytes, printJson, printLines, table, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';
import { ExitCode } from '../../errors.js';
import { interruptible } from '../interruptible.js';

function modeString(type: string, mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : '-';
  const bits = 'rwxrwxrwx';
  return t + [...bits].map((c, i) => (mode & (1 << (8 - i)) ? c : '-')).join('');
}

export function registerBrowseCommands(program: Command, action: CommandAction): void {
  program.command('snapshots <name>').description('versions a task has produced, newest first').option('--json', 'print JSON')
    .action(action(async (name: string, o: CommonOptions) => {
      const snaps = await interruptible((signal) => client().call('snapshots', { name }, { signal }));
      // A damaged version is listed, never left out, and makes the command exit 3.
      const status = snaps.some((x) => 'damaged' in x) ? ExitCode.PARTIAL : ExitCode.SUCCESS;
      if (o.json) {
        printJson(snaps);
        return status;
      }
      if (!snaps.length) return printLines(['no versions yet']);
      printLines(table(['ID', 'TIME', 'HOST', 'USER', 'FILES', 'SIZE', 'SOURCES'], snaps.map((x) =>
        'damaged' in x
          ? [x.shortId, 'DAMAGED', '', '', '', '', x.error]
          : [x.shortId, x.time.replace('T', ' ').slice(0, 19), x.host, x.user, String(x.files), formatBytes(x.bytes), x.sources.join(', ') + (x.repaired ? ` (repaired, replaces ${x.repaired.original.slice(0, 8)})` : '')])));
      return status;
    }));

  program.command('ls <name> [snapshot] [path]').description('browse a version (default: latest, at its top)').option('--json', 'print JSON')
    .action(action(async (name: string, snapshot: string | undefined, dir: string | undefined, o: CommonOptions) => {
      const entries = await interruptible((signal) => client().call('ls', { name, snapshot: snapshot ?? 'latest', dir }, { signal }));
      if (o.json) return printJson(entries);
      printLines(entries.map((e) => `${modeString(e.type, e.mode)} ${String(e.size).padStart(12)} ${e.mtime.replace('T', ' ').slice(0, 19)} ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}${e.repaired ? ` [repaired: ${'folderLost' in e.repaired ? 'folder content lost' : `content lost from byte ${String(e.repaired.lostFromByte)}`}]` : ''}`));
    }));
}
