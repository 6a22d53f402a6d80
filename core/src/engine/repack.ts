/**
 * Repacking: the used blobs of mostly unused packs are copied into new packs, data and tree
 * blobs apart (as a backup packs them). Envelopes are copied as they are (no re-encryption or
 * recompression), after each one is opened and checked against its id: a blob that does not
 * verify is not spread into a new pack, and its pack is kept as it is, for `check` to report
 * and the repairs to handle. The new packs are uploaded but not indexed: the caller writes the
 * index, and a crash before it leaves them as harmless unindexed packs.
 */
import type { PackInfo } from '../repository/index.js';
import { BlobType, packBlobName, type PackEntry } from '../repository/pack.js';
import type { StoredPack } from '../repository/pack-inventory.js';
import { PackBuilder } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';

export interface RepackResult {
  /** New packs holding the copies. */
  written: PackInfo[];
  /** Packs whose blobs were all copied: they may go once the new index is stored. */
  emptied: StoredPack[];
  /** Packs with a used blob that does not verify: nothing copied, the pack stays. */
  damaged: Array<{ pack: StoredPack; message: string }>;
  /** Envelope bytes copied. */
  bytes: number;
  blobs: number;
}

/** Checks that each blob opens and matches its id; the first failure, or null. */
function verify(repo: Repository, data: Buffer, blobs: readonly PackEntry[]): string | null {
  for (const e of blobs) {
    try {
      if (e.offset + e.length > data.length) return `blob ${e.id} lies past the end of the pack`;
      if (repo.hash(repo.unseal(data.subarray(e.offset, e.offset + e.length), e.rawLength)) !== e.id) return `blob ${e.id} does not match its id`;
    } catch (err) {
      return `blob ${e.id}: ${(err as Error).message}`;
    }
  }
  return null;
}

export async function repack(repo: Repository, items: ReadonlyArray<{ pack: StoredPack; blobs: PackEntry[] }>, checkpoint: () => void): Promise<RepackResult> {
  const result: RepackResult = { written: [], emptied: [], damaged: [], bytes: 0, blobs: 0 };
  const packSize = repo.config.packSize;
  const capacity = packSize + repo.config.chunker.max + 2 * 1024 * 1024;
  const builders = new Map<BlobType, PackBuilder>([
    [BlobType.Data, new PackBuilder(capacity, capacity, 1)],
    [BlobType.Tree, new PackBuilder(capacity, 1024 * 1024, 0)],
  ]);
  const flush = async (builder: PackBuilder): Promise<void> => {
    const pack = builder.take();
    if (!pack) return;
    checkpoint();
    const info = await repo.uploadPackBuffer(pack.buf, pack.used, pack.entries);
    builder.recycle(pack.buf);
    result.written.push(info);
  };

  for (const { pack, blobs } of items) {
    checkpoint();
    const data = await repo.store.get(packBlobName(pack.id));
    const failure = verify(repo, data, blobs);
    if (failure) {
      result.damaged.push({ pack, message: failure });
      continue;
    }
    for (const e of blobs) {
      const builder = builders.get(e.type)!;
      builder.add(e.id, e.type, e.rawLength, data.subarray(e.offset, e.offset + e.length));
      result.bytes += e.length;
      result.blobs++;
      if (builder.bytes >= packSize) await flush(builder);
    }
    result.emptied.push(pack);
  }
  for (const builder of builders.values()) await flush(builder);
  return result;
}
