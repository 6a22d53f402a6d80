/**
 * Upkeep before a backup writes anything: temporaries of dead writers go, the config's copy is
 * written when missing (a repository made before copies existed) or different, and the index
 * is made to agree with the packs in the store (index-maintenance.ts). A lost pack is said out
 * loud: versions that used it stay damaged until `haven repair snapshots`, but this run uploads
 * again what it can.
 */
import type { TemporarySweep } from '@haven/plugin-api';
import { reconcileIndex, type IndexReconciliation } from '../repository/index-maintenance.js';
import { CONFIG_COPY_NAME } from '../repository/repo-config.js';
import type { Repository } from '../repository/repository.js';

export interface Preparation extends IndexReconciliation {
  /** Temporaries removed (null: the store cannot tell). */
  temporaries: TemporarySweep | null;
  /** What the run should report as found wrong and worked around (RunRecord.warnings). */
  warnings: string[];
}

export async function prepareRepository(repo: Repository): Promise<Preparation> {
  const temporaries = repo.store.sweepTemporaries ? await repo.store.sweepTemporaries({ dryRun: false }) : null;
  const copy = await repo.store.get(CONFIG_COPY_NAME).catch(() => null);
  if (!copy?.equals(repo.configBytes)) await repo.store.put(CONFIG_COPY_NAME, repo.configBytes);
  const reconciled = await reconcileIndex(repo);
  const warnings: string[] = [];
  if (reconciled.missingPacks.length) {
    warnings.push(
      `${reconciled.missingPacks.length} pack(s) of the repository at ${repo.store.description} are missing (${reconciled.missingPacks.map((p) => p.slice(0, 12)).join(', ')}): ` +
        'this run uploaded again what the sources still hold; older versions that used them stay damaged (see `haven check`, then `haven repair index` and `haven repair snapshots`)',
    );
  }
  return { ...reconciled, temporaries, warnings };
}
