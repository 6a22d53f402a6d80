/**
 * `haven repair config|index|snapshots NAME`: bring a damaged repository back to a state
 * where every intact byte can be restored and backups run again.
 */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { interruptible } from '../interruptible.js';
import { formatBytes, printJson, printLines, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';

export function registerRepairCommand(program: Command, action: CommandAction): void {
  const repair = program.command('repair').description("repair a task's repository: its config, its index, or versions that lost data");

  repair.command('config <name>').description('write a lost repository config again, from its copy or from a key file (needs the password)')
    .option('--json', 'print the result as JSON')
    .action(action(async (name: string, o: CommonOptions) => {
      const result = await client().call('repair.config', { name });
      if (o.json) return printJson(result);
      printLines([`config of repository ${result.id} written again (${result.source === 'copy' ? 'from its copy' : 'rebuilt from a key file'}); run \`haven check ${name}\``]);
    }));

  repair.command('index <name>').description('rebuild the index from the packs in the repository; remove leftovers of killed runs')
    .option('--json', 'print the result as JSON')
    .action(action(async (name: string, o: CommonOptions) => {
      const r = await interruptible((signal) => client().call('repair.index', { name }, { signal }));
      if (o.json) return printJson(r);
      printLines([
        `index rebuilt from ${r.packs} pack(s): ${r.blobs} blobs; ${r.removedIndexFiles} old index blob(s) removed`,
        ...(r.lostBlobs ? [`  ${r.lostBlobs} blob(s) the old index listed are in no pack any more: run \`haven repair snapshots ${name}\``] : []),
        ...r.unreadablePacks.map((p) => `  pack ${p.pack}: header unreadable, its blobs are not indexed (${p.message})`),
        ...(r.temporaries?.count ? [`  ${r.temporaries.count} temporary file(s) of killed runs removed (${formatBytes(r.temporaries.bytes)})`] : []),
      ]);
    }));

  repair.command('snapshots <name>').description('rewrite versions that refer to lost data: files keep their intact beginning, lost folders become empty, both marked')
    .option('--dry-run', 'only say what would be rewritten')
    .option('--json', 'print the result as JSON')
    .action(action(async (name: string, o: CommonOptions & { dryRun?: boolean }) => {
      const r = await interruptible((signal) => client().call('repair.snapshots', { name, dryRun: o.dryRun === true }, { signal }));
      if (o.json) return printJson(r);
      printLines([
        `${r.repaired.length} version(s) ${r.dryRun ? 'would be' : ''} rewritten, ${r.intact} intact`.replace('  ', ' '),
        ...r.repaired.flatMap((x) => [
          `  ${x.original.slice(0, 12)}${x.replacement ? ` -> ${x.replacement.slice(0, 12)}` : ''}: ${x.files} file(s) cut short, ${x.dirs} folder(s) emptied`,
          ...x.affected.slice(0, 50).map((p) => `    ${p}`),
        ]),
        ...r.unreadable.map((u) => `  version ${u.id.slice(0, 12)} cannot be read at all and was left as it is: ${u.message}`),
      ]);
    }));
}
