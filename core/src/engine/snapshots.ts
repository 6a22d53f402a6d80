/** Finding snapshots by id, id prefix or 'latest'. */
import { UsageError } from '../errors.js';
import { mapLimit, type Repository } from '../repository/repository.js';
import type { Snapshot } from '../repository/snapshot.js';

export interface LoadedSnapshot {
  id: string;
  snap: Snapshot;
}

/** Every snapshot, newest first. Unreadable snapshots are returned in `damaged`. */
export async function loadAllSnapshots(repo: Repository): Promise<{ snapshots: LoadedSnapshot[]; damaged: Array<{ id: string; message: string }> }> {
  const list = await repo.store.list('snapshots/');
  const snapshots: LoadedSnapshot[] = [];
  const damaged: Array<{ id: string; message: string }> = [];
  await mapLimit(list, 8, async (info) => {
    const id = info.name.slice('snapshots/'.length);
    try {
      snapshots.push({ id, snap: await repo.loadSnapshot(id) });
    } catch (err) {
      damaged.push({ id, message: (err as Error).message });
    }
  });
  snapshots.sort((a, b) => (a.snap.time < b.snap.time ? 1 : a.snap.time > b.snap.time ? -1 : a.id < b.id ? 1 : -1));
  return { snapshots, damaged };
}

export async function resolveSnapshot(repo: Repository, ref: string, taskId?: string): Promise<LoadedSnapshot> {
  if (!ref) throw new UsageError('no snapshot given');
  if (ref === 'latest') {
    const { snapshots } = await loadAllSnapshots(repo);
    const hit = snapshots.find((s) => taskId === undefined || s.snap.taskId === taskId);
    if (!hit) throw new UsageError(taskId ? `task ${taskId} has no snapshot yet` : 'the repository has no snapshot yet');
    return hit;
  }
  if (!/^[0-9a-f]{1,64}$/.test(ref)) throw new UsageError(`"${ref}" is not a snapshot id`);
  if (ref.length === 64) {
    if (!(await repo.store.stat(`snapshots/${ref}`))) throw new UsageError(`no snapshot ${ref}`);
    return { id: ref, snap: await repo.loadSnapshot(ref) };
  }
  const matches = (await repo.store.list('snapshots/')).map((i) => i.name.slice('snapshots/'.length)).filter((id) => id.startsWith(ref));
  if (matches.length === 0) throw new UsageError(`no snapshot ${ref}`);
  if (matches.length > 1) throw new UsageError(`snapshot prefix ${ref} is ambiguous (${matches.length} snapshots match); give more characters`);
  return { id: matches[0], snap: await repo.loadSnapshot(matches[0]) };
}
