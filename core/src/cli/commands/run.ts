/** `haven run NAME` and the one-shot `haven backup SOURCE... --to DEST`. */
import * as path from 'node:path';
import type { Command } from 'commander';
import type { RunRecord } from '@haven/plugin-api';
import { client } from '../cli-context.js';
import { createProgress } from '../progress.js';
import { formatBytes, printJson, printLines, type CommonOptions } from '../output.js';
import { addTaskOptions, toTaskInput, type RawTaskOptions } from './task-options.js';
import { ExitCode, UsageError } from '../../errors.js';
import { interruptible } from '../interruptible.js';
import type { RunReply } from '../../client/haven-api.js';
import type { CommandAction } from '../command-action.js';

export function renderRun(r: RunRecord): string[] {
  const seconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
  const lines = [`run ${r.id} of task "${r.task}": ${r.status}${r.reason ? ` — ${r.reason}` : ''}`];
  if (r.status === 'success' || r.status === 'partial') {
    lines.push(`  ${r.files} files, ${formatBytes(r.bytesRead)} read, ${formatBytes(r.bytesAdded)} added in ${seconds.toFixed(1)} s`);
    lines.push(`  version ${r.snapshot}`);
    if (r.skippedSpecial) lines.push(`  ${r.skippedSpecial} sockets, FIFOs or devices skipped`);
    for (const e of r.errors) lines.push(`  not backed up: ${e.path}: ${e.message}`);
    if (r.retention?.forgotten) lines.push(`  retention: ${r.retention.forgotten} older version${r.retention.forgotten === 1 ? '' : 's'} removed, ${formatBytes(r.retention.bytesFreed)} given back`);
    for (const w of r.warnings ?? []) lines.push(`  warning: ${w}`);
  }
  return lines;
}

export function exitCodeOf(outcome: RunReply): number {
  switch (outcome.record.status) {
    case 'success': return ExitCode.SUCCESS;
    case 'partial': return ExitCode.PARTIAL;
    case 'skipped': return ExitCode.SKIPPED;
    default: return outcome.error?.exitCode ?? ExitCode.FAILED;
  }
}

interface RunCommandOptions extends CommonOptions {
  ignoreFreeSpace?: boolean;
  newRepository?: boolean;
  wait?: boolean;
}

async function runAndReport(name: string, o: RunCommandOptions): Promise<number> {
  const progress = createProgress('backup', o);
  // Ctrl-C or a kill stops the backup cleanly: in-flight store calls are abandoned, the run is
  // recorded as failed (exit 130), the repository stays valid, and the next run reuses what
  // was already uploaded.
  const outcome = await interruptible((signal) =>
    client().call('run', { name, ignoreFreeSpace: o.ignoreFreeSpace, newRepository: o.newRepository, wait: o.wait }, { signal, onProgress: (p) => progress.update(p) }),
  ).finally(() => progress.stop());
  if (o.json) printJson(outcome.record);
  else printLines(renderRun(outcome.record));
  if (outcome.error && !o.json && outcome.record.status === 'failed') process.stderr.write(`haven: ${outcome.error.message}\n`);
  return exitCodeOf(outcome);
}

/** The name `haven backup` gives a task it creates: from the first source's folder name. */
function defaultTaskName(source: string): string {
  const base = path.basename(path.resolve(source)).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return `backup-${base || 'root'}`.slice(0, 64);
}

export function registerRunCommands(program: Command, action: CommandAction): void {
  program.command('run <name>').description('run a task now')
    .option('--json', 'print the run record as JSON')
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--ignore-free-space', 'run even when the destination reports less free space than the run is expected to need')
    .option('--new-repository', 'start a new repository even though this task made versions at its destination before (its repository is gone)')
    .option('--wait', 'when the task is running already (e.g. on its schedule), wait for that run to end, then run (else: skipped, exit 4)')
    .action(action(async (name: string, o: RunCommandOptions) => {
      return runAndReport(name, o);
    }));

  addTaskOptions(
    program.command('backup <sources...>').description('one-shot: create (or reuse) a manual task for these sources and run it')
      .requiredOption('--to <TYPE:LOCATION>', 'destination, e.g. local:/srv/backup/haven')
      .option('--name <name>', 'task name (default: backup-<folder name>)'),
    { sourceFlag: false },
  )
    .option('--json', 'print the run record as JSON')
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--ignore-free-space', 'run even when the destination reports less free space than the run is expected to need')
    .action(action(async (sources: string[], o: RawTaskOptions & RunCommandOptions & { to: string; name?: string }) => {
      const haven = client();
      const name = o.name ?? defaultTaskName(sources[0]);
      const existing = (await haven.call('task.list', {})).find((t) => t.name === name);
      if (!existing) {
        await haven.call('task.create', { name, input: toTaskInput({ ...o, source: sources, dest: o.to }), cwd: process.cwd() });
        if (!o.json) process.stderr.write(`haven: created task "${name}" (run it again with "haven run ${name}")\n`);
      } else {
        const wanted = sources.map((x) => path.resolve(x)).sort().join('\n');
        if (existing.sources.slice().sort().join('\n') !== wanted || existing.destination !== (await haven.call('task.normalizeDestination', { text: o.to }))) {
          throw new UsageError(`task "${name}" already exists with other sources or destination; choose another --name or use "haven task edit ${name}"`);
        }
      }
      return runAndReport(name, o);
    }));
}
