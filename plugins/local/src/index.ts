/**
 * Plugin `local`: registers the local-folder storage provider. Activated on first use of a
 * `local:` destination.
 */
import type { PluginContext } from '@haven/plugin-api';
import { LocalStorageProvider } from './local-storage-provider.js';

export { LocalBlobStore } from './local-blob-store.js';
export { LocalStorageProvider } from './local-storage-provider.js';

export function activate(context: PluginContext): void {
  context.subscriptions.push(context.registerStorageProvider(new LocalStorageProvider()));
}

export function deactivate(): void {}
