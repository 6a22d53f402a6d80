/**
 * `haven service [--user]`: the system service (root; every user's requests, per-user workers)
 * or a personal one for the user who starts it. Runs until SIGTERM or SIGINT; then cancels what
 * is running (recorded as interrupted) and ends.
 */
import type { Command } from 'commander';
import { createHavenContainer } from '../../di/container.js';
import { resolveServices } from '../../di/services.js';
import { startHavenService } from '../../service/haven-service.js';
import { serviceSocketPath, userSocketPath } from '../../service/socket-path.js';
import { UsageError } from '../../errors.js';
import type { CommandAction } from '../command-action.js';

function logLine(line: string): void {
  process.stderr.write(`${new Date().toISOString()} haven service: ${line}\n`);
}

export function registerServiceCommand(program: Command, action: CommandAction): void {
  program.command('service').description('serve Haven to every user of this computer (system mode, as root), or with --user to yourself')
    .option('--user', 'a personal service for the user who starts it (e.g. from a systemd user unit)')
    .action(action(async (o: { user?: boolean }) => {
      const uid = process.getuid?.() ?? 0;
      if (!o.user && uid !== 0) throw new UsageError('"haven service" serves every user and must run as root; for a personal service, run "haven service --user"');
      // The service never talks to itself: its socket is where it listens.
      const socketPath = o.user ? userSocketPath(process.env, uid) : serviceSocketPath(process.env);
      const container = await createHavenContainer(process.env, { workers: !o.user });
      const services = resolveServices(container, {});
      const service = await startHavenService(services, { socketPath, onlyUid: o.user ? uid : undefined, log: logLine });
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM')).once('SIGINT', () => resolve('SIGINT'));
      });
      logLine(`${signal}: stopping`);
      await service.close();
      await services.plugins.deactivateAll().catch(() => undefined);
      logLine('stopped');
    }));
}
