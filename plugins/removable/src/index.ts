/**
 * Plugin `removable`: external drives (USB disks, SD cards) as backup destinations, found by
 * their file system's identity wherever they are mounted.
 */
import type { PluginContext } from '@haven/plugin-api';
import { RemovableStorageProvider } from './removable-storage-provider.js';
import { DriveMemory } from './drive-memory.js';

export { connectedDrives, type ConnectedDrive } from './drives.js';
export { RemovableStorageProvider } from './removable-storage-provider.js';

export function activate(context: PluginContext): void {
  // Which drive each destination was first used on is the user's own memory (API 1.1's
  // storagePath; a 1.0 host has none, and then only the drive's label or UUID is checked).
  const memory = new DriveMemory(context.storagePath);
  context.subscriptions.push(context.registerStorageProvider(new RemovableStorageProvider(memory)));
}

export function deactivate(): void {}
