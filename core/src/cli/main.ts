/**
 * The `haven` command line: parse, call a service, render. No logic of its own.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../errors.js';
import { reportError } from './output.js';
import type { CommandAction } from './command-action.js';
import { shutdown } from './cli-context.js';
import { registerTaskCommands } from './commands/task.js';
import { registerRunCommands } from './commands/run.js';
import { registerHistoryCommand } from './commands/history.js';
import { registerBrowseCommands } from './commands/browse.js';
import { registerRestoreCommand } from './commands/restore.js';
import { registerCheckCommand } from './commands/check.js';
import { registerPluginCommands } from './commands/plugins.js';
import { registerNotYetCommands } from './commands/not-yet.js';
import { registerUnlockCommand } from './commands/unlock.js';
import { registerRepairCommand } from './commands/repair.js';
import { registerServiceCommand } from './commands/service.js';
import { registerScheduleCommand } from './commands/schedule.js';
import { registerForgetCommand } from './commands/forget.js';
import { registerDrivesCommand } from './commands/drives.js';

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.SUCCESS;
  const debug = argv.includes('--debug') || process.env.HAVEN_DEBUG === '1';
  if (debug) process.env.HAVEN_DEBUG = '1';

  const action: CommandAction = (fn) =>
    async (...args) => {
      try {
        exitCode = (await fn(...args)) ?? ExitCode.SUCCESS;
      } catch (err) {
        exitCode = reportError(err, debug);
      }
    };

  const program = new Command('haven')
    .description('Haven: back up files into deduplicated, compressed, encrypted versions, and restore them')
    .version('0.1.0')
    // Taken out of argv before parsing, so it works after any command too.
    .option('--debug', 'show stack traces and debug messages')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  registerRunCommands(program, action);
  registerTaskCommands(program, action);
  registerHistoryCommand(program, action);
  registerBrowseCommands(program, action);
  registerRestoreCommand(program, action);
  registerCheckCommand(program, action);
  registerUnlockCommand(program, action);
  registerRepairCommand(program, action);
  registerPluginCommands(program, action);
  registerNotYetCommands(program, action);
  registerServiceCommand(program, action);
  registerScheduleCommand(program, action);
  registerForgetCommand(program, action);
  registerDrivesCommand(program, action);

  try {
    await program.parseAsync(argv.filter((a) => a !== '--debug'), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else the parser rejects is bad usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.SUCCESS;
      return ExitCode.USAGE;
    }
    return reportError(err, debug);
  } finally {
    await shutdown().catch(() => undefined);
  }
  return exitCode;
}
