/**
 * Commands of the contract that later versions bring. They exist so `haven --help` shows the
 * whole surface, and say plainly that they are not available yet (exit 1) — they never
 * pretend to work.
 */
import type { Command } from 'commander';
import { HavenError } from '../../errors.js';
import type { CommandAction } from '../command-action.js';

const LATER: Array<[string, string]> = [
  ['login <provider>', 'sign in to an online service (device code flow)'],
];

export function registerNotYetCommands(program: Command, action: CommandAction): void {
  for (const [usage, what] of LATER) {
    const verb = usage.split(' ')[0];
    program.command(usage).description(`${what} (not available yet)`).allowUnknownOption().helpOption(false)
      .action(action(async () => {
        throw new HavenError(`"haven ${verb}" (${what}) is not available in this version of Haven yet`);
      }));
  }
}
