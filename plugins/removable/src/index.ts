/**
 * Plugin `removable`: external drives (USB disks, SD cards) as backup destinations, found by
 * their file system's identity wherever they are mounted.
 */
import type { PluginContext } from '@haven/plugin-api';
import { RemovableStorageProvider } from './removable-storage-provider.js';
import { DriveMemory } from './drive-memory.js';
import { watchMounts } from './mount-watcher.js';

export { connectedDrives, type ConnectedDrive } from './drives.js';
export { RemovableStorageProvider } from './removable-storage-provider.js';

export function activate(context: PluginContext): void {
  // Which drive each destination was first used on is the user's own memory (API 1.1's
  // storagePath; a 1.0 host has none, and then only the drive's label or UUID is checked).
  const memory = new DriveMemory(() => context.storagePath);
  context.subscriptions.push(context.registerStorageProvider(new RemovableStorageProvider(memory)));
  // Inside a service: a drive being connected starts its `on-connect` tasks (API 1.2).
  const runs = context.runs;
  if (runs) {
    const watcher = watchMounts(
      (drive) => {
        // A task may name the drive by label or by UUID.
        for (const name of new Set([drive.label, drive.uuid].filter((n): n is string => !!n))) {
          void runs
            .requestRuns({ trigger: 'on-connect', destinationType: 'removable', destinationLocation: name, reason: `drive ${drive.label ?? drive.uuid} connected at ${drive.mountPoint}` })
            .catch((err: Error) => context.log.warn(`could not start the runs of drive ${name}: ${err.message}`));
        }
      },
      (message) => context.log.warn(message),
    );
    context.subscriptions.push({ dispose: () => watcher.stop() });
  }
}

export function deactivate(): void {}
