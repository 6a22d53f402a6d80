/**
 * The blobs of a removable destination, kept as the `local` provider keeps them — but only
 * while the drive is still where it was found. Before every call the mount point is checked to
 * be the same file system (its device number): once the drive is unplugged or unmounted, the
 * path leads to an empty folder on the system disk, and writing there (the local store creates
 * missing folders) would fill that disk with a repository nobody looks for, or reading there
 * would answer "not found" for a drive that is merely gone. Either way the call fails instead:
 * "drive X was disconnected".
 */
import { promises as fs } from 'node:fs';
import { PermanentStoreError, type BlobInfo, type ByteRange, type StoreCallOptions, type TemporarySweep } from '@haven/plugin-api';
import { LocalBlobStore } from '@haven/plugin-local';

export class DriveBoundStore extends LocalBlobStore {
  constructor(
    root: string,
    description: string,
    private readonly mountPoint: string,
    private readonly device: number,
    private readonly driveName: string,
  ) {
    super(root, description);
  }

  /** The file system at the mount point now, compared with the one found at open. */
  static async deviceOf(mountPoint: string): Promise<number> {
    return (await fs.stat(mountPoint)).dev;
  }

  /**
   * Runs a call of the local store between two checks: before it, and — when it failed — after
   * it, so a call cut short by the drive going away (a rename whose folder vanished) reports
   * the disconnection, not the file system's ENOENT.
   */
  private async guarded<T>(call: () => Promise<T>): Promise<T> {
    await this.guard();
    try {
      return await call();
    } catch (err) {
      await this.guard();
      throw err;
    }
  }

  private async guard(): Promise<void> {
    const now = await DriveBoundStore.deviceOf(this.mountPoint).catch(() => -1);
    if (now !== this.device) {
      throw new PermanentStoreError(`drive ${this.driveName} was disconnected (nothing is mounted at ${this.mountPoint} any more); connect it again and run again`);
    }
  }

  override async put(name: string, data: Uint8Array): Promise<void> {
    return this.guarded(() => super.put(name, data));
  }

  override async putStream(name: string, data: AsyncIterable<Uint8Array>, size: number, options?: StoreCallOptions): Promise<void> {
    return this.guarded(() => super.putStream(name, data, size, options));
  }

  override async putIfAbsent(name: string, data: Uint8Array): Promise<boolean> {
    return this.guarded(() => super.putIfAbsent(name, data));
  }

  override async get(name: string, range?: ByteRange): Promise<Buffer> {
    return this.guarded(() => super.get(name, range));
  }

  override async getStream(name: string, range?: ByteRange, options?: StoreCallOptions): Promise<AsyncIterable<Uint8Array>> {
    return this.guarded(() => super.getStream(name, range, options));
  }

  override async *list(prefix: string): AsyncGenerator<BlobInfo> {
    await this.guard();
    try {
      yield* super.list(prefix);
    } catch (err) {
      await this.guard();
      throw err;
    }
  }

  override async stat(name: string): Promise<BlobInfo | null> {
    return this.guarded(() => super.stat(name));
  }

  override async delete(name: string): Promise<void> {
    return this.guarded(() => super.delete(name));
  }

  override async freeSpace(): Promise<number> {
    return this.guarded(() => super.freeSpace());
  }

  override async sweepTemporaries(options: { dryRun: boolean }): Promise<TemporarySweep> {
    return this.guarded(() => super.sweepTemporaries(options));
  }
}
