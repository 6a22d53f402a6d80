/**
 * What a command needs: the client it calls Haven through (in-process, or the system service's
 * socket when there is one), and — for what stays in the command's own process (writing and
 * checking plugins) — the services of a container built on first use.
 */
import { existsSync, statSync } from 'node:fs';
import type { Container } from 'inversify';
import { createHavenContainer, type HavenContainerOptions } from '../di/container.js';
import { resolveServices, type Services } from '../di/services.js';
import * as ids from '../di/service-identifiers.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { HavenClient } from '../client/haven-api.js';
import { InProcessClient } from '../client/in-process-client.js';
import { SocketClient } from '../client/socket-client.js';
import { serviceSocketPath, userSocketPath } from '../service/socket-path.js';

export type { Services } from '../di/services.js';

let container: Promise<Container> | undefined;

/** `options` count on the first call only: a command makes its container once. */
export async function services(options: HavenContainerOptions = {}): Promise<Services> {
  container ??= createHavenContainer(process.env, options);
  return resolveServices(await container, process.env);
}

function isSocket(file: string): boolean {
  try {
    return existsSync(file) && statSync(file).isSocket();
  } catch {
    return false;
  }
}

/**
 * System mode when the service's socket exists (cli.md, "State and modes"): every command goes
 * through it, so the service — not this process — reads and writes the system state. Else the
 * user's own service (`haven service --user`) when it runs, so its scheduler and the commands
 * share one writer. Personal mode otherwise: the services run here, as this user.
 */
export function client(): HavenClient {
  const uid = process.getuid?.() ?? 0;
  const socket = [serviceSocketPath(process.env), userSocketPath(process.env, uid)].find(isSocket);
  if (socket) return new SocketClient(socket, process.env);
  return new InProcessClient(() => services());
}

/** Deactivates plugins before the process ends, so their disposables run. */
export async function shutdown(): Promise<void> {
  if (!container) return;
  const c = await container;
  await c.get<PluginHost>(ids.PluginHost).deactivateAll();
}
