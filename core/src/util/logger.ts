/**
 * Messages to stderr. stdout belongs to command output (and to the one JSON document of
 * --json). Debug lines appear only with --debug / HAVEN_DEBUG.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PluginLogger } from '@haven/plugin-api';

export const isDebug = (): boolean => process.env.HAVEN_DEBUG === '1';

/** Where a message line goes (a whole line, newline included). */
export type MessageSink = (line: string) => void;

// A service serves many clients at once: the messages of a request go to that request's
// client (over its socket, or up from a worker), whichever code path writes them.
const sinks = new AsyncLocalStorage<MessageSink>();

/** Runs `fn` with its warnings and messages sent to `sink` instead of this process's stderr. */
export function withMessageSink<T>(sink: MessageSink, fn: () => T): T {
  return sinks.run(sink, fn);
}

/** Where messages go at this point: the request's sink, or stderr. */
export function currentMessageSink(): MessageSink {
  return sinks.getStore() ?? ((line) => void process.stderr.write(line));
}

export function warn(message: string): void {
  currentMessageSink()(`haven: warning: ${message}\n`);
}

export function info(message: string): void {
  currentMessageSink()(`haven: ${message}\n`);
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
