/** Listing snapshots and folders of a snapshot. */
import { UsageError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import type { Tree, TreeNode } from '../repository/tree.js';
import type { Snapshot } from '../repository/snapshot.js';
import { loadAllSnapshots, resolveSnapshot } from './snapshots.js';
import { indexUnlistedPacksInMemory } from '../repository/index-maintenance.js';
import { REPAIR_ANNOTATION } from './repair.js';

/** A snapshot as listed: its record's fields, its id and a short id for display. */
export type SnapshotInfo = Pick<Snapshot, 'time' | 'taskId' | 'task' | 'runId' | 'host' | 'user' | 'sources' | 'files' | 'bytes' | 'parent'> &
  Partial<Pick<Snapshot, 'dirs' | 'bytesAdded' | 'errors' | 'repaired'>> & { id: string; shortId: string };

export interface EntryInfo {
  /** Display name (a name that is not valid UTF-8 shows U+FFFD for its invalid bytes). */
  name: string;
  /** Base64 of the raw name, only for names that are not valid UTF-8. */
  nameBytes?: string;
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  mode: number;
  mtime: string;
  target?: string;
  /** Set by `haven repair snapshots` on what lost data: `{ lostFromByte, originalSize, repairedAt }` or `{ folderLost, repairedAt }`. */
  repaired?: Record<string, unknown>;
}

/**
 * A snapshot blob that cannot be read (damaged, or sealed with other keys). Its task cannot be
 * known, so it is listed for every task: a version that silently vanished would be worse.
 */
export interface DamagedSnapshotInfo {
  id: string;
  shortId: string;
  damaged: true;
  error: string;
}

export async function listSnapshots(repo: Repository, filter?: { taskId?: string }): Promise<Array<SnapshotInfo | DamagedSnapshotInfo>> {
  const { snapshots, damaged } = await loadAllSnapshots(repo);
  const readable: SnapshotInfo[] = snapshots
    .filter((s) => !filter?.taskId || s.snap.taskId === filter.taskId)
    .map(({ id, snap }) => ({
      id,
      shortId: id.slice(0, 8),
      time: snap.time,
      taskId: snap.taskId,
      task: snap.task,
      runId: snap.runId,
      host: snap.host,
      user: snap.user,
      sources: snap.sources,
      files: snap.files,
      bytes: snap.bytes,
      parent: snap.parent,
      dirs: snap.dirs,
      bytesAdded: snap.bytesAdded,
      errors: snap.errors,
      ...(snap.repaired ? { repaired: snap.repaired } : {}),
    }));
  const unreadable: DamagedSnapshotInfo[] = damaged
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((d) => ({ id: d.id, shortId: d.id.slice(0, 8), damaged: true, error: d.message }));
  return [...readable, ...unreadable];
}

/** Splits a snapshot path ("/docs/a b/c") into names; rejects "." and "..". */
export function splitSnapshotPath(p: string | undefined): string[] {
  if (!p) return [];
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new UsageError(`path "${p}" must not contain ".."`);
  return parts;
}

/** Finds the node at `parts` below `root`; null for the root itself. */
export async function findNode(repo: Repository, rootTree: string, parts: string[]): Promise<{ node: TreeNode | null; tree: Tree | null }> {
  let tree = await repo.loadTree(rootTree);
  let node: TreeNode | null = null;
  for (let i = 0; i < parts.length; i++) {
    const found: TreeNode | undefined = tree.nodes.find((n) => n.name === parts[i]);
    if (!found) throw new UsageError(`"/${parts.slice(0, i + 1).join('/')}" is not in the snapshot`);
    node = found;
    if (i < parts.length - 1 || found.type === 'dir') {
      if (found.type !== 'dir' || !found.subtree) {
        if (i < parts.length - 1) throw new UsageError(`"/${parts.slice(0, i + 1).join('/')}" is not a folder`);
      } else {
        tree = await repo.loadTree(found.subtree);
      }
    }
  }
  return { node, tree: node === null || node.type === 'dir' ? tree : null };
}

export async function listDir(repo: Repository, snapshot: string, dirPath?: string, taskId?: string): Promise<EntryInfo[]> {
  await indexUnlistedPacksInMemory(repo);
  const { snap } = await resolveSnapshot(repo, snapshot, taskId);
  const parts = splitSnapshotPath(dirPath);
  const { node, tree } = await findNode(repo, snap.tree, parts);
  const base = parts.length ? `/${parts.join('/')}` : '';
  const toInfo = (n: TreeNode, p: string): EntryInfo => {
    const e: EntryInfo = { name: n.name, path: p, type: n.type, size: n.size, mode: n.mode, mtime: new Date(n.mtime).toISOString() };
    if (n.nameBytes !== undefined) e.nameBytes = n.nameBytes;
    if (n.target !== undefined) e.target = n.target;
    const repaired = n.annotations?.[REPAIR_ANNOTATION];
    if (repaired && typeof repaired === 'object') e.repaired = repaired as Record<string, unknown>;
    return e;
  };
  if (node && node.type !== 'dir') return [toInfo(node, base)];
  return tree!.nodes.map((n) => toInfo(n, `${base}/${n.name}`));
}
