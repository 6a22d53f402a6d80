/** `haven task create|list|show|edit|delete|export|import`. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { client } from '../cli-context.js';
import { printJson, printLines, table, type CommonOptions } from '../output.js';
import { addTaskOptions, toTaskInput, type RawTaskOptions } from './task-options.js';
import { UsageError } from '../../errors.js';
import type { Task } from '../../tasks/task.js';
import type { CommandAction } from '../command-action.js';
import { interruptible } from '../interruptible.js';
import { renderPrune } from './forget.js';
import { parseSchedule } from '../../schedule/schedule-spec.js';
import { nextDue } from '../../schedule/occurrences.js';
import { localTime } from './schedule.js';

/** ", next run …" for a timed schedule (computed here; the service's scheduler uses the same rule). */
function nextRunText(t: Task): string {
  try {
    const next = nextDue(parseSchedule(t.schedule), new Date());
    return next ? ` (next run ${localTime(next.toISOString())})` : '';
  } catch {
    return '';
  }
}

function describeTask(t: Task): string[] {
  const keep = Object.entries(t.retention).map(([k, v]) => `${k.replace('keep', '').toLowerCase()} ${v}`).join(', ');
  return [
    `name:         ${t.name}`,
    `owner:        ${t.owner ? `${t.owner.name}${t.ownerSince ? ` (since ${t.ownerSince.slice(0, 19).replace('T', ' ')}, when they edited it as a legacy task)` : ''}` : '(legacy task: every user; runs with the rights of whoever starts it)'}`,
    `sources:      ${t.sources.join(', ')}`,
    ...(t.excludes.length ? [`excludes:     ${t.excludes.join(', ')}`] : []),
    `destination:  ${t.destination}`,
    `schedule:     ${t.schedule}${nextRunText(t)}`,
    `keep:         ${keep || 'everything (no retention policy)'}`,
    `encryption:   ${t.encryption === 'none' ? 'none' : `AES-256-GCM, password ${t.passwordFile ? `from ${t.passwordFile}` : 'from HAVEN_PASSWORD'}`}`,
    ...(t.commands?.before ? [`before:       ${t.commands.before}`] : []),
    ...(t.commands?.after ? [`after:        ${t.commands.after}`] : []),
    ...(t.commands?.notify ? [`on failure:   ${t.commands.notify}`] : []),
    `id:           ${t.id}`,
  ];
}

export function registerTaskCommands(program: Command, action: CommandAction): void {
  const task = program.command('task').description('create, list, show, edit, delete, export and import backup tasks');

  addTaskOptions(
    task.command('create <name>').description('create a backup task').requiredOption('--dest <TYPE:LOCATION>', 'where versions are kept, e.g. local:/srv/backup/haven'),
    { sourceFlag: true },
  )
    .option('--json', 'print the task as JSON')
    .action(action(async (name: string, o: RawTaskOptions & CommonOptions) => {
      const created = await client().call('task.create', { name, input: toTaskInput(o), cwd: process.cwd() });
      if (o.json) printJson(created);
      else printLines([`created task "${created.name}"`, ...describeTask(created).map((l) => `  ${l}`)]);
    }));

  task.command('list').description('tasks you can see').option('--json', 'print JSON').action(action(async (o: CommonOptions) => {
    const tasks = await client().call('task.list', {});
    if (o.json) return printJson(tasks);
    if (!tasks.length) return printLines(['no tasks yet (create one with "haven task create" or "haven backup")']);
    printLines(table(['NAME', 'OWNER', 'SCHEDULE', 'DESTINATION', 'SOURCES'], tasks.map((t) => [t.name, t.owner?.name ?? '(legacy)', t.schedule, t.destination, t.sources.join(', ')])));
  }));

  task.command('show <name>').description('one task in full').option('--json', 'print JSON').action(action(async (name: string, o: CommonOptions) => {
    const t = await client().call('task.get', { name });
    if (o.json) printJson(t);
    else printLines(describeTask(t));
  }));

  addTaskOptions(task.command('edit <name>').description("change a task's settings (only the options given change)").option('--dest <TYPE:LOCATION>', 'new destination'), { sourceFlag: true })
    .option('--json', 'print the task as JSON')
    .action(action(async (name: string, o: RawTaskOptions & CommonOptions) => {
      const edited = await client().call('task.edit', { name, input: toTaskInput(o), cwd: process.cwd() });
      if (o.json) printJson(edited);
      else printLines([`updated task "${edited.name}"`, ...describeTask(edited).map((l) => `  ${l}`)]);
    }));

  task.command('delete <name>').description('delete a task (its versions stay in the repository)')
    .option('--purge', 'also remove all its versions from the repository and give their space back')
    .option('--json', 'print JSON')
    .action(action(async (name: string, o: CommonOptions & { purge?: boolean }) => {
      const deleted = await interruptible((signal) => client().call('task.delete', { name, purge: o.purge === true }, { signal }));
      if (o.json) printJson({ deleted: deleted.name, id: deleted.id, ...(deleted.purged ? { purged: deleted.purged } : {}) });
      else if (deleted.purged) printLines([`deleted task "${deleted.name}" and its ${deleted.purged.forget.remove.length} versions`, ...(deleted.purged.prune ? renderPrune(deleted.purged.prune) : [])]);
      else printLines([`deleted task "${deleted.name}" (its versions remain in ${deleted.destination})`]);
    }));

  task.command('export [names...]').description('print task definitions as JSON (all you can see, or the ones named)')
    .option('--json', 'the output is always JSON')
    .action(action(async (names: string[]) => {
      printJson(await client().call('task.export', { names }));
    }));

  task.command('import <file>').description('add the tasks of an export file (all or none)').option('--json', 'print JSON')
    .action(action(async (file: string, o: CommonOptions) => {
      let data: unknown;
      try {
        data = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
      }
      const imported = await client().call('task.import', { data, cwd: process.cwd() });
      if (o.json) printJson(imported);
      else printLines(imported.map((t) => `imported task "${t.name}"`));
    }));
}
