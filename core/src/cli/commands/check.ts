/** `haven check NAME [--read-data]`. */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { interruptible } from '../interruptible.js';
import { formatBytes, printJson, printLines, type CommonOptions } from '../output.js';
import { ExitCode } from '../../errors.js';
import type { CommandAction } from '../command-action.js';

export function registerCheckCommand(program: Command, action: CommandAction): void {
  program.command('check <name>').description("verify the task's repository structure (and, with --read-data, every byte)")
    .option('--read-data', 'read, decrypt and hash every stored byte')
    .option('--no-lock', 'read without locking the repository (a read-only drive or a full disk is read without a lock anyway)')
    .option('--json', 'print the report as JSON')
    .action(action(async (name: string, o: CommonOptions & { readData?: boolean; lock: boolean }) => {
      const report = await interruptible((signal) => client().call('check', { name, options: { readData: o.readData === true, noLock: o.lock === false } }, { signal }));
      if (o.json) printJson(report);
      else {
        printLines([
          `${report.ok ? 'no errors found' : `${report.problems.length} problem(s) found`}: ${report.snapshots} versions, ${report.packs} packs, ${report.blobs} blobs` +
            (o.readData ? `, ${formatBytes(report.bytesVerified)} read and verified` : ''),
          ...report.problems.flatMap((p) => [
            `  ${p.kind}: ${p.message}`,
            ...(p.affected ?? []).slice(0, 50).map((a) => `    affects ${a.path} in version ${a.snapshot.slice(0, 12)}`),
          ]),
          ...report.staleLocks.map((l) => `  stale lock ${l.id} (host ${l.host}, pid ${l.pid}): ${l.reason}`),
          ...(report.temporaries ? [`  ${report.temporaries.count} temporary file(s) of killed runs (${formatBytes(report.temporaries.bytes)}): harmless; the next backup or \`haven repair index\` removes them`] : []),
          ...(report.supersededIndexFiles ? [`  ${report.supersededIndexFiles} replaced index blob(s): harmless; \`haven repair index\` removes them`] : []),
        ]);
      }
      return report.ok ? ExitCode.SUCCESS : ExitCode.FAILED;
    }));
}
