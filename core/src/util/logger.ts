/**
 * Messages to stderr. stdout belongs to command output (and to the one JSON document of
 * --json). Debug lines appear only with --debug / HAVEN_DEBUG.
 */
import type { PluginLogger } from '@haven/plugin-api';

export const isDebug = (): boolean => process.env.HAVEN_DEBUG === '1';

export function warn(message: string): void {
  process.stderr.write(`haven: warning: ${message}\n`);
}

export function info(message: string): void {
  process.stderr.write(`haven: ${message}\n`);
}

export function debug(message: string): void {
  if (isDebug()) process.stderr.write(`haven: debug: ${message}\n`);
}

export function createPluginLogger(pluginId: string): PluginLogger {
  return {
    info: (m) => info(`[${pluginId}] ${m}`),
    warn: (m) => warn(`[${pluginId}] ${m}`),
    debug: (m) => debug(`[${pluginId}] ${m}`),
  };
}
