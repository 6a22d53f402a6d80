/**
 * Repository check.
 * Structure: every index blob readable; every indexed pack exists with the indexed size and
 * its own header agrees with the index; every snapshot readable; every tree and data blob a
 * snapshot references is in the index and (trees) decodes.
 * readData: every pack read whole, every blob decrypted, decompressed and hashed.
 * Problems name the pack and the (snapshot, path) pairs they affect.
 */
import { listLocks, lockForReading } from '../repository/locks.js';
import type { TemporarySweep } from '@haven/plugin-api';
import { CONFIG_COPY_NAME } from '../repository/repo-config.js';
import type { PackInfo } from '../repository/index.js';
import { packBlobName, packIdFromName, parsePack, readPackHeader, type PackEntry } from '../repository/pack.js';
import { mapLimit, type Repository } from '../repository/repository.js';
import type { Tree } from '../repository/tree.js';
import { loadAllSnapshots } from './snapshots.js';

export interface CheckProblem {
  kind: string;
  message: string;
  pack?: string;
  affected?: Array<{ snapshot: string; path: string }>;
}

export interface CheckReport {
  ok: boolean;
  snapshots: number;
  packs: number;
  blobs: number;
  bytesVerified: number;
  problems: CheckProblem[];
  staleLocks: Array<{ id: string; host: string; pid: number; reason: string }>;
  /** Packs present in the store but in no index (left by an interrupted backup; harmless, the next backup indexes them). */
  unindexedPacks?: number;
  /** Set when the check read without a lock, and why. */
  lockFree?: string;
  /** Index blobs replaced by a newer one (harmless; `haven repair index` deletes them). */
  supersededIndexFiles?: number;
  /** Temporaries left by killed writers (harmless; the next backup or `haven repair index` removes them). */
  temporaries?: TemporarySweep;
}

const MAX_AFFECTED = 1000;

export interface CheckOptions {
  readData: boolean;
  /** Read without taking a repository lock (restic's --no-lock). */
  noLock?: boolean;
}

export async function runCheck(repo: Repository, opts: CheckOptions): Promise<CheckReport> {
  const lock = await lockForReading(repo, 'check', { noLock: opts.noLock });
  try {
    const report = await doCheck(repo, opts);
    if (lock.lockFree) report.lockFree = lock.lockFree;
    return report;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

async function doCheck(repo: Repository, opts: { readData: boolean }): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  const report: CheckReport = { ok: true, snapshots: 0, packs: 0, blobs: 0, bytesVerified: 0, problems, staleLocks: [] };

  for (const l of await listLocks(repo)) {
    if (repo.heldLocks.has(l.name) || !l.stale) continue;
    report.staleLocks.push({ id: l.id, host: l.record?.host ?? '?', pid: l.record?.pid ?? 0, reason: l.stale });
  }

  // Index blobs, read again so every (pack, blob) pair is seen, duplicates included.
  await repo.loadIndex();
  for (const [name, msg] of repo.damagedIndexFiles) problems.push({ kind: 'damaged-index', message: `${name}: ${msg}` });
  const indexed = new Map<string, PackInfo>();
  await mapLimit([...repo.index.files], 8, async (name) => {
    try {
      for (const p of (await repo.readIndexFile(name)).packs) {
        const have = indexed.get(p.id);
        if (!have) indexed.set(p.id, { id: p.id, size: p.size, entries: p.entries.slice() });
        else if (have.size !== p.size) problems.push({ kind: 'index-mismatch', message: `index blobs disagree on the size of pack ${p.id}`, pack: p.id });
      }
    } catch (err) {
      problems.push({ kind: 'damaged-index', message: (err as Error).message });
    }
  });
  report.packs = indexed.size;
  const copy = await repo.store.get(CONFIG_COPY_NAME).catch(() => null);
  if (copy && !copy.equals(repo.configBytes)) {
    problems.push({ kind: 'config-copy', message: `${CONFIG_COPY_NAME} differs from the config (the config is the valid one; the next backup writes the copy again)` });
  }
  // Superseded blobs still stored: a prune deletes the ones it supersedes, whose names stay in its index.
  const storedIndex = new Set((await repo.store.list('index/')).map((i) => i.name));
  const superseded = [...repo.index.superseded].filter((n) => storedIndex.has(n)).length;
  if (superseded) report.supersededIndexFiles = superseded;
  const temporaries = await repo.store.sweepTemporaries?.({ dryRun: true });
  if (temporaries?.count) report.temporaries = temporaries;
  report.blobs = repo.index.blobs.size;

  const stored = new Map<string, number>();
  for (const info of await repo.store.list('data/')) {
    const id = packIdFromName(info.name);
    if (id) stored.set(id, info.size);
  }
  report.unindexedPacks = [...stored.keys()].filter((id) => !indexed.has(id)).length;

  /** Bad blob locations, "pack:offset". */
  const badLocations = new Set<string>();
  const badPacks = new Map<string, CheckProblem>();
  const markPack = (pack: string, kind: string, message: string, locations: Iterable<PackEntry>): void => {
    for (const e of locations) badLocations.add(`${pack}:${e.offset}`);
    let p = badPacks.get(pack);
    if (!p) {
      p = { kind, message, pack, affected: [] };
      badPacks.set(pack, p);
      problems.push(p);
    } else {
      p.message += `; ${message}`;
    }
  };

  await mapLimit([...indexed.values()], opts.readData ? 2 : 8, async (info) => {
    const size = stored.get(info.id);
    if (size === undefined) {
      markPack(info.id, 'missing-pack', `pack ${info.id} is missing`, info.entries);
      return;
    }
    if (size !== info.size) {
      markPack(info.id, 'pack-size', `pack ${info.id} is ${size} bytes, the index says ${info.size}`, info.entries);
      return;
    }
    let header: PackEntry[];
    let whole: Buffer | null = null;
    try {
      if (opts.readData) {
        whole = await repo.store.get(packBlobName(info.id));
        header = parsePack(repo.cipher, repo.decompressor, whole);
      } else {
        header = await readPackHeader(repo.store, packBlobName(info.id), size, repo.cipher, repo.decompressor);
      }
    } catch (err) {
      markPack(info.id, 'damaged-pack', `pack ${info.id}: header unreadable (${(err as Error).message})`, info.entries);
      return;
    }
    const byOffset = new Map(header.map((e) => [e.offset, e]));
    const mismatched = info.entries.filter((e) => {
      const h = byOffset.get(e.offset);
      return !h || h.id !== e.id || h.length !== e.length || h.type !== e.type || h.rawLength !== e.rawLength;
    });
    if (mismatched.length) {
      markPack(info.id, 'index-mismatch', `pack ${info.id}: ${mismatched.length} index entr${mismatched.length === 1 ? 'y does' : 'ies do'} not match the pack header`, mismatched);
    }
    if (whole) {
      const bad: PackEntry[] = [];
      for (const e of header) {
        try {
          const data = repo.unseal(whole.subarray(e.offset, e.offset + e.length), e.rawLength);
          if (repo.hash(data) !== e.id) throw new Error('hash mismatch');
          report.bytesVerified += e.rawLength;
        } catch {
          bad.push(e);
        }
      }
      if (bad.length) markPack(info.id, 'damaged-pack', `pack ${info.id}: ${bad.length} of ${header.length} blob(s) fail verification`, bad);
    }
  });

  // Snapshots and trees.
  const { snapshots, damaged } = await loadAllSnapshots(repo);
  report.snapshots = snapshots.length + damaged.length;
  for (const d of damaged) problems.push({ kind: 'damaged-snapshot', message: `snapshot ${d.id}: ${d.message}` });

  const isBad = (id: string): string | null => {
    const e = repo.index.get(id);
    if (!e) return 'missing';
    return badLocations.has(`${e.pack}:${e.offset}`) ? e.pack : null;
  };
  const missing = new Map<string, CheckProblem>();
  const addMissing = (id: string, what: string, snapshot: string, p: string): void => {
    let prob = missing.get(id);
    if (!prob) {
      prob = { kind: 'missing-blob', message: `${what} ${id} is not in the index`, affected: [] };
      missing.set(id, prob);
      problems.push(prob);
    }
    if (prob.affected!.length < MAX_AFFECTED) prob.affected!.push({ snapshot, path: p });
  };
  const affect = (pack: string, snapshot: string, p: string): void => {
    const prob = badPacks.get(pack);
    if (prob && prob.affected!.length < MAX_AFFECTED) prob.affected!.push({ snapshot, path: p });
  };
  /** Trees known to reference nothing bad, so later snapshots skip them. */
  const clean = new Set<string>();

  const walk = async (treeId: string, snapshot: string, p: string): Promise<boolean> => {
    if (clean.has(treeId)) return false;
    const bad = isBad(treeId);
    if (bad === 'missing') {
      addMissing(treeId, 'tree', snapshot, p || '/');
      return true;
    }
    if (bad) {
      affect(bad, snapshot, p || '/');
      return true;
    }
    let tree: Tree;
    try {
      tree = await repo.loadTree(treeId);
    } catch (err) {
      const e = repo.index.get(treeId)!;
      markPack(e.pack, 'damaged-pack', `tree ${treeId}: ${(err as Error).message}`, [{ ...e, id: treeId }]);
      affect(e.pack, snapshot, p || '/');
      return true;
    }
    let problem = false;
    for (const n of tree.nodes) {
      const np = `${p}/${n.name}`;
      if (n.type === 'dir' && n.subtree) {
        if (await walk(n.subtree, snapshot, np)) problem = true;
      } else if (n.type === 'file' && n.content) {
        let fileBad = false;
        for (const id of n.content) {
          const b = isBad(id);
          if (b === 'missing') {
            addMissing(id, 'data blob', snapshot, np);
            fileBad = true;
            break;
          } else if (b && !fileBad) {
            affect(b, snapshot, np);
            fileBad = true;
          }
        }
        if (fileBad) problem = true;
      }
    }
    if (!problem) clean.add(treeId);
    return problem;
  };
  for (const { id, snap } of snapshots) await walk(snap.tree, id, '');

  report.ok = problems.length === 0;
  return report;
}
