/** `haven forget NAME [--keep-…] [--dry-run] [--prune]`: thin a task's versions by a retention policy. */
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { interruptible } from '../interruptible.js';
import { formatBytes, printJson, printLines, type CommonOptions } from '../output.js';
import { addRetentionOptions, toRetention, type RawRetentionOptions } from './task-options.js';
import type { ForgetOutcome } from '../../tasks/repository-work.js';
import type { PruneReport } from '../../engine/index.js';
import type { CommandAction } from '../command-action.js';

const short = (id: string) => id.slice(0, 12);

export function renderPrune(p: PruneReport): string[] {
  const would = p.dryRun ? 'would ' : '';
  return [
    `prune: ${p.snapshots} versions use ${p.usedBlobs} blobs; ${p.packsBefore} packs → ${p.packsAfter}` +
      ` (${p.packsDeleted} unused deleted, ${p.packsRepacked} repacked into ${p.packsWritten})`,
    `  ${would}free ${formatBytes(p.bytesFreed)}${p.bytesRepacked ? `, copying ${formatBytes(p.bytesRepacked)} of data still used` : ''}` +
      (p.unusedBytesKept ? `; ${formatBytes(p.unusedBytesKept)} unused left in packs mostly in use` : ''),
    ...p.lostPacks.map((pack) => `  lost pack ${pack}: dropped from the index (run "haven check")`),
    ...p.damagedPacks.map((d) => `  pack ${d.pack} left as it is: ${d.message}`),
  ];
}

export function renderForget(o: ForgetOutcome): string[] {
  const f = o.forget;
  const removeVerb = f.dryRun ? 'would remove' : 'removed';
  return [
    `keep ${f.keep.length} version${f.keep.length === 1 ? '' : 's'}:`,
    ...f.keep.map((k) => `  ${short(k.id)}  ${k.time.replace('T', ' ').slice(0, 19)}  ${k.reasons.join(', ')}`),
    `${removeVerb} ${f.remove.length} version${f.remove.length === 1 ? '' : 's'}${f.remove.length ? ':' : ''}`,
    ...f.remove.map((r) => `  ${short(r.id)}  ${r.time.replace('T', ' ').slice(0, 19)}`),
    ...f.damaged.map((d) => `  damaged version ${short(d.id)} kept: ${d.message}`),
    ...(o.prune ? renderPrune(o.prune) : f.remove.length && !f.dryRun ? ['(their data stays until "haven forget --prune" or the next run)'] : []),
  ];
}

export function registerForgetCommand(program: Command, action: CommandAction): void {
  addRetentionOptions(
    program.command('forget <name>').description("remove versions of a task that its retention policy (or the --keep options given) does not keep"),
  )
    .option('--dry-run', 'say what would be removed, remove nothing')
    .option('--prune', 'also delete the data no remaining version needs, giving the space back')
    .option('--json', 'print JSON')
    .action(action(async (name: string, o: RawRetentionOptions & CommonOptions & { dryRun?: boolean; prune?: boolean }) => {
      const outcome = await interruptible((signal) =>
        client().call('forget', { name, policy: toRetention(o), dryRun: o.dryRun === true, prune: o.prune === true }, { signal }),
      );
      if (o.json) printJson(outcome);
      else printLines(renderForget(outcome));
    }));
}
