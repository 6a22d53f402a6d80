/**
 * The blobs the snapshots use: every tree reachable from a snapshot's root and every data blob
 * a file of those trees names. Prune keeps exactly these, so the walk must be complete: a tree
 * that cannot be read, or a blob the index does not have, stops it with an error instead of
 * yielding a smaller set (whatever that tree referred to would then look unused).
 */
import { RepositoryCorruptError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import type { Tree } from '../repository/tree.js';
import type { LoadedSnapshot } from './snapshots.js';

/** How many missing blobs the error names. */
const EXAMPLES = 5;

/**
 * Walks the snapshots' trees through `repo.index` (which must list every pack present). Each
 * distinct tree is read once. Calls `checkpoint` between trees (abort checks).
 */
export async function collectUsedBlobs(repo: Repository, snapshots: readonly LoadedSnapshot[], checkpoint: () => void = () => undefined): Promise<Set<string>> {
  const used = new Set<string>();
  const missing = new Set<string>();
  const examples: string[] = [];
  const lack = (what: string, id: string, snapshot: string, where: string, why: string): void => {
    if (missing.has(id)) return;
    missing.add(id);
    if (examples.length < EXAMPLES) examples.push(`${what} ${id.slice(0, 12)} (snapshot ${snapshot.slice(0, 8)}, ${where || '/'}): ${why}`);
  };

  for (const { id: snapshot, snap } of snapshots) {
    const stack: Array<{ tree: string; path: string }> = [{ tree: snap.tree, path: '' }];
    while (stack.length) {
      checkpoint();
      const { tree: treeId, path } = stack.pop()!;
      if (used.has(treeId) || missing.has(treeId)) continue;
      if (!repo.index.has(treeId)) {
        lack('tree', treeId, snapshot, path, 'in no pack');
        continue;
      }
      let tree: Tree;
      try {
        tree = await repo.loadTree(treeId);
      } catch (err) {
        lack('tree', treeId, snapshot, path, (err as Error).message);
        continue;
      }
      used.add(treeId);
      for (const n of tree.nodes) {
        const p = `${path}/${n.name}`;
        if (n.type === 'dir' && n.subtree) stack.push({ tree: n.subtree, path: p });
        else if (n.type === 'file' && n.content) {
          for (const blob of n.content) {
            if (used.has(blob)) continue;
            if (repo.index.has(blob)) used.add(blob);
            else lack('data blob', blob, snapshot, p, 'in no pack');
          }
        }
      }
    }
  }
  if (missing.size) {
    throw new RepositoryCorruptError(
      `prune refuses to run: ${missing.size} blob(s) that snapshots refer to cannot be found or read, e.g. ${examples.join('; ')}. ` +
        'Deleting data now could lose what is left of those versions. Run `haven check`, then `haven repair index` and `haven repair snapshots`, and prune again',
    );
  }
  return used;
}
