/**
 * The `haven` command line: parse, call a service, render. No logic of its own.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import { reportError } from './output.js';
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

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.SUCCESS;
  const debug = argv.includes('--debug') || process.env.HAVEN_DEBUG === '1';
  if (debug) process.env.HAVEN_DEBUG = '1';

  const action = <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) =>
    async (...args: A): Promise<void> => {
      try {
        exitCode = (await fn(...args)) ?? ExitCode.SUCCESS;
      } catch (err) {
        exitCode = reportError(err, debug);
      }
    };

  const program = new Command('haven')
    .description('Haven: back up files into deduplicated, compressed, encrypted versions, and restore them')
    .version('0.1.0')
    .option('--debug', 'show stack traces and debug messages')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.hook('preAction', (_this, command) => {
    // Every sub-command gets the global --debug too.
    command.option('--debug', 'show stack traces and debug messages');
  });

  registerRunCommands(program, action);
  registerTaskCommands(program, action);
  registerHistoryCommand(program, action);
  registerBrowseCommands(program, action);
  registerRestoreCommand(program, action);
  registerCheckCommand(program, action);
  registerUnlockCommand(program, action);
  registerPluginCommands(program, action);
  registerNotYetCommands(program, action);
  for (const cmd of program.commands) cmd.exitOverride();
  for (const cmd of program.commands.flatMap((c) => c.commands)) cmd.exitOverride();

  try {
    await program.parseAsync(argv.filter((a) => a !== '--debug'), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else the parser rejects is bad usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.SUCCESS;
      return ExitCode.USAGE;
    }
    if (err instanceof UsageError) return reportError(err, debug);
    return reportError(err, debug);
  } finally {
    await shutdown().catch(() => undefined);
  }
  return exitCode;
}
