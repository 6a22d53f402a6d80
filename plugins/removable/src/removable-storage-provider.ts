/**
 * The `removable` storage provider: `removable:LABEL_OR_UUID[/folder]`, a folder on an external
 * drive found by its file system's identity wherever it is mounted now. The blobs are kept as
 * the `local` provider keeps them (fsynced files and folders: unplugging after a run reports
 * success loses nothing).
 *
 * A drive not connected makes the destination unavailable (the run is skipped, nothing
 * written — never into an empty mount-point folder). The first use of a destination remembers
 * which drive it was (UUID and the marker Haven writes on it); a drive that only shares its label
 * is refused, saying so.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { StoreNotFoundError, type Availability, type BlobStore, type DeviceInfo, type OpenOptions, type StorageProvider } from '@haven/plugin-api';
import { DriveBoundStore } from './drive-bound-store.js';
import { connectedDrives, isNamed, type ConnectedDrive } from './drives.js';
import { DriveMemory, ensureMarker, readMarker } from './drive-memory.js';

interface Location {
  drive: string;
  folder: string;
}

function parse(location: string): Location {
  const [drive, ...rest] = location.split('/');
  return { drive, folder: rest.join('/') };
}

function describeDrive(d: ConnectedDrive): string {
  return `${d.label ? `"${d.label}" ` : ''}(UUID ${d.uuid ?? 'unknown'}, ${d.device} at ${d.mountPoint})`;
}

export class RemovableStorageProvider implements StorageProvider {
  readonly type = 'removable';

  constructor(private readonly memory: DriveMemory) {}

  validateLocation(location: string): string {
    const { drive, folder } = parse(location.replace(/\/+$/, ''));
    if (!drive) throw new Error('name the drive by its label or UUID, e.g. removable:BACKUP or removable:BACKUP/haven');
    if (location.includes('\0')) throw new Error('the location contains a NUL character');
    const segments = folder.split('/').filter((s) => s !== '');
    if (segments.some((s) => s === '.' || s === '..')) throw new Error('the folder on the drive may not contain "." or ".." segments');
    return [drive, ...segments].join('/');
  }

  /** The connected drive of this location, or why there is none to use. */
  private async find(location: string): Promise<{ drive: ConnectedDrive; dir: string } | { reason: string }> {
    const { drive: name, folder } = parse(location);
    const connected = await connectedDrives();
    const matches = connected.filter((d) => isNamed(d, name));
    // One drive mounted twice is one drive.
    const drives = [...new Map(matches.map((d) => [d.device, d])).values()];
    if (drives.length === 0) {
      const unknown = connected.filter((d) => !d.uuid && !d.label).map((d) => d.mountPoint);
      const hint = unknown.length
        ? ` (the drives at ${unknown.join(', ')} could not be identified: without udev's /dev/disk links, reading a drive's label needs access to its device)`
        : '';
      return { reason: `drive ${name} is not connected${hint}` };
    }
    if (drives.length > 1) return { reason: `${drives.length} connected drives are named ${name}: ${drives.map(describeDrive).join(', ')}; name the drive by its UUID` };
    const [drive] = drives;
    const remembered = await this.memory.get(name);
    if (remembered) {
      const marker = await readMarker(drive.mountPoint);
      const sameUuid = remembered.uuid === undefined || drive.uuid === undefined || remembered.uuid.toLowerCase() === drive.uuid.toLowerCase();
      if (!sameUuid || marker?.id !== remembered.markerId) {
        return {
          reason: `the drive ${describeDrive(drive)} is not the drive ${name} this destination was first used on (UUID ${remembered.uuid ?? 'unknown'}): it only carries the same name. Nothing was written`,
        };
      }
    }
    return { drive, dir: path.join(drive.mountPoint, folder) };
  }

  async listDevices(): Promise<DeviceInfo[]> {
    const drives = [...new Map((await connectedDrives()).map((d) => [d.device, d])).values()];
    return drives.map((d) => ({
      name: d.label ?? d.uuid ?? d.device,
      ...(d.uuid ? { uuid: d.uuid } : {}),
      ...(d.label ? { label: d.label } : {}),
      fileSystem: d.fsType,
      mountPoint: d.mountPoint,
      ...(d.freeBytes !== undefined ? { freeBytes: d.freeBytes } : {}),
    }));
  }

  async checkAvailability(location: string): Promise<Availability> {
    const found = await this.find(location);
    return 'reason' in found ? { available: false, reason: found.reason } : { available: true };
  }

  async open(location: string, options: OpenOptions): Promise<BlobStore> {
    const found = await this.find(location);
    if ('reason' in found) throw new StoreNotFoundError(found.reason);
    const { drive, dir } = found;
    const device = await DriveBoundStore.deviceOf(drive.mountPoint);
    if (options.create) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    } else if (!(await fs.stat(dir).catch(() => undefined))?.isDirectory()) {
      throw new StoreNotFoundError(`the folder ${dir} on drive ${parse(location).drive} does not exist`);
    }
    // The first use remembers which drive this is.
    const { drive: name } = parse(location);
    if (!(await this.memory.get(name))) {
      const marker = await ensureMarker(drive.mountPoint, { uuid: drive.uuid, label: drive.label });
      await this.memory.remember(name, { uuid: drive.uuid, markerId: marker.id });
    }
    return new DriveBoundStore(dir, `removable:${location} (${drive.mountPoint})`, drive.mountPoint, device, parse(location).drive);
  }
}
