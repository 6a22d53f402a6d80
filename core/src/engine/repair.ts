/**
 * `haven repair index` and `haven repair snapshots`, each under an exclusive lock.
 *
 * repair snapshots rewrites every version that refers to data the repository no longer has
 * (a blob in no index, or in a pack the store lost), keeping all that is intact:
 * - a file whose content lost a chunk keeps its intact beginning, up to the first lost chunk
 *   (never a spliced middle), and is marked with the annotation `haven.repair`
 *   (`{ lostFromByte, originalSize, repairedAt }`);
 * - a folder whose tree blob is lost becomes an empty folder marked the same way
 *   (`{ folderLost: true, repairedAt }`).
 * The rewritten version gets `repaired: { original, time, files, dirs }` and replaces the
 * original, which is deleted only once the new version and its trees are stored.
 * Run `repair index` first when the index itself is damaged.
 */
import { withExclusiveLock } from '../repository/locks.js';
import { findLostPacks, rebuildIndex, type IndexRepair } from '../repository/index-maintenance.js';
import { BlobType } from '../repository/pack.js';
import type { PackInfo } from '../repository/index.js';
import type { Repository } from '../repository/repository.js';
import type { Snapshot } from '../repository/snapshot.js';
import { serializeTree, type Tree, type TreeNode } from '../repository/tree.js';
import { loadAllSnapshots } from './snapshots.js';

export const REPAIR_ANNOTATION = 'haven.repair';

const MAX_AFFECTED = 1000;
const TREE_PACK_BYTES = 8 * 1024 * 1024;

export interface RepairedSnapshot {
  original: string;
  /** The version written in its place (null on a dry run). */
  replacement: string | null;
  /** Files cut short, folders emptied. */
  files: number;
  dirs: number;
  /** Paths affected (up to 1000). */
  affected: string[];
}

export interface SnapshotRepairReport {
  dryRun: boolean;
  repaired: RepairedSnapshot[];
  /** Versions that refer to nothing lost. */
  intact: number;
  /** Version blobs that cannot be read at all: nothing in them can be saved; listed, left alone. */
  unreadable: Array<{ id: string; message: string }>;
}

interface TreeResult {
  id: string;
  files: number;
  dirs: number;
}

/** Rewrites trees bottom-up, once per distinct tree, collecting the new tree blobs. */
class TreeRewriter {
  private readonly done = new Map<string, TreeResult>();
  readonly newTrees = new Map<string, Buffer>();
  affected: string[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly lostPacks: Set<string>,
    private readonly time: string,
  ) {}

  private available(id: string): boolean {
    const e = this.repo.index.get(id);
    return !!e && !this.lostPacks.has(e.pack);
  }

  private store(nodes: TreeNode[]): string {
    const buf = serializeTree(nodes);
    const id = this.repo.hash(buf);
    if (!this.repo.index.has(id)) this.newTrees.set(id, buf);
    return id;
  }

  private note(p: string): void {
    if (this.affected.length < MAX_AFFECTED) this.affected.push(p || '/');
  }

  /** The tree's rewritten id (the same id when nothing under it was lost), or null when it is lost itself. */
  async rewrite(treeId: string, p: string): Promise<TreeResult | null> {
    const hit = this.done.get(treeId);
    if (hit) {
      if (hit.files || hit.dirs) this.note(p);
      return hit;
    }
    let tree: Tree;
    if (!this.available(treeId)) return null;
    try {
      tree = await this.repo.loadTree(treeId);
    } catch {
      return null;
    }
    const result: TreeResult = { id: treeId, files: 0, dirs: 0 };
    const nodes: TreeNode[] = [];
    for (const n of tree.nodes) {
      const np = `${p}/${n.name}`;
      if (n.type === 'dir' && n.subtree) {
        const sub = await this.rewrite(n.subtree, np);
        if (sub === null) {
          this.note(np);
          result.dirs++;
          nodes.push({ ...n, subtree: this.store([]), annotations: { ...n.annotations, [REPAIR_ANNOTATION]: { folderLost: true, repairedAt: this.time } } });
          continue;
        }
        result.files += sub.files;
        result.dirs += sub.dirs;
        nodes.push(sub.id === n.subtree ? n : { ...n, subtree: sub.id });
      } else if (n.type === 'file' && n.content) {
        const k = n.content.findIndex((id) => !this.available(id));
        if (k < 0) {
          nodes.push(n);
          continue;
        }
        const kept = n.content.slice(0, k);
        const size = kept.reduce((sum, id) => sum + this.repo.index.get(id)!.rawLength, 0);
        this.note(np);
        result.files++;
        nodes.push({ ...n, content: kept, size, annotations: { ...n.annotations, [REPAIR_ANNOTATION]: { lostFromByte: size, originalSize: n.size, repairedAt: this.time } } });
      } else {
        nodes.push(n);
      }
    }
    if (result.files || result.dirs) result.id = this.store(nodes);
    this.done.set(treeId, result);
    return result;
  }
}

/** Uploads the new tree blobs in packs and indexes them. */
async function saveTrees(repo: Repository, trees: Map<string, Buffer>): Promise<void> {
  const packs: PackInfo[] = [];
  let batch: Array<{ id: string; type: BlobType; rawLength: number; data: Uint8Array }> = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    packs.push(await repo.uploadPack(batch));
    batch = [];
    bytes = 0;
  };
  for (const [id, buf] of trees) {
    const data = repo.seal(buf);
    batch.push({ id, type: BlobType.Tree, rawLength: buf.length, data });
    bytes += data.length;
    if (bytes >= TREE_PACK_BYTES) await flush();
  }
  await flush();
  await repo.saveIndex(packs);
}

export async function runRepairSnapshots(repo: Repository, opts: { dryRun: boolean }): Promise<SnapshotRepairReport> {
  return withExclusiveLock(repo, 'repair snapshots', async () => {
    const lostPacks = new Set(await findLostPacks(repo));
    const time = new Date().toISOString();
    const rewriter = new TreeRewriter(repo, lostPacks, time);
    const { snapshots, damaged } = await loadAllSnapshots(repo);
    const report: SnapshotRepairReport = { dryRun: opts.dryRun, repaired: [], intact: 0, unreadable: damaged };
    const replacements: Array<{ original: string; snap: Snapshot; entry: RepairedSnapshot }> = [];
    for (const { id, snap } of snapshots) {
      rewriter.affected = [];
      const root = await rewriter.rewrite(snap.tree, '');
      if (root && root.files === 0 && root.dirs === 0) {
        report.intact++;
        continue;
      }
      // A lost root tree: the version keeps its record, with nothing in it.
      const files = root?.files ?? 0;
      const dirs = root ? root.dirs : 1;
      if (!root) rewriter.affected.push('/');
      const entry: RepairedSnapshot = { original: id, replacement: null, files, dirs, affected: rewriter.affected };
      report.repaired.push(entry);
      const tree = root?.id ?? repo.hash(serializeTree([]));
      if (!root && !repo.index.has(tree)) rewriter.newTrees.set(tree, serializeTree([]));
      replacements.push({ original: id, snap: { ...snap, tree, repaired: { original: id, time, files, dirs } }, entry });
    }
    if (opts.dryRun || replacements.length === 0) return report;
    // Trees first, then the new versions, then the originals go: a crash leaves both versions.
    await saveTrees(repo, rewriter.newTrees);
    for (const r of replacements) {
      const saved = await repo.saveJson('snapshots', r.snap);
      r.entry.replacement = saved.name.slice('snapshots/'.length);
    }
    for (const r of replacements) await repo.store.delete(`snapshots/${r.original}`);
    return report;
  });
}

export async function runRepairIndex(repo: Repository): Promise<IndexRepair> {
  return withExclusiveLock(repo, 'repair index', () => rebuildIndex(repo));
}
