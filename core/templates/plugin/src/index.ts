/**
 * {{packageName}}: the module Haven imports. Haven reads package.json first and imports this
 * only when a task or command needs a `{{type}}:` destination (its `activationEvents`), then
 * calls activate().
 */
import type { PluginContext } from '@haven/plugin-api';
import { provider } from './provider.js';

export function activate(context: PluginContext): void {
  // What is pushed here is undone when the plugin is deactivated or an administrator disables it.
  context.subscriptions.push(context.registerStorageProvider(provider));
}
