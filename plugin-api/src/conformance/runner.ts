/**
 * Runs the cases. Each case gets a store of its own from `openStore` (closed after the case)
 * and, inside it, a prefix of its own below the run's `haven-conformance-<random>/`; whatever
 * the case wrote there is deleted afterwards, pass or fail, and a clean-up that leaves blobs
 * behind fails the case. So the kit can run against a location that holds a repository.
 */
import { listAll } from '../list-helpers.js';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BlobStore } from '../storage.js';
import { CaseSkipped, mapLimit } from './assertions.js';
import { CONFORMANCE_CASES } from './cases.js';
import { ScopedBlobStore } from './scoped-store.js';
import { DEFAULT_SETTINGS, type CaseResult, type ConformanceCase, type ConformanceOptions, type ConformanceResult, type ConformanceSettings } from './types.js';

export type OpenStore = () => Promise<BlobStore>;

export function runPrefix(): string {
  return `haven-conformance-${randomBytes(6).toString('hex')}/`;
}

/** The prefix of the i-th case (0-based) of a run below `base`. */
export function casePrefix(base: string, i: number): string {
  return `${base}${String(i + 1).padStart(2, '0')}/`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Deletes every blob below `prefix`; says what is left, if anything. */
async function cleanUp(store: BlobStore, prefix: string): Promise<string | undefined> {
  const written = await listAll(store, prefix);
  await mapLimit(written, 16, (b) => store.delete(b.name));
  const left = await listAll(store, prefix);
  return left.length ? `clean-up left ${left.length} blobs below "${prefix}" (e.g. "${left[0].name}") after deleting them` : undefined;
}

/** Runs one case on a fresh store, under `prefix` (which must end with `/`). */
export async function runCase(testCase: ConformanceCase, openStore: OpenStore, prefix: string, settings: ConformanceSettings = DEFAULT_SETTINGS): Promise<CaseResult> {
  const started = performance.now();
  const result = (status: CaseResult['status'], detail?: string): CaseResult => ({
    name: testCase.name,
    status,
    ok: status === 'passed',
    ms: Math.round(performance.now() - started),
    ...(status === 'failed' ? { error: detail } : status === 'skipped' ? { skipped: detail } : {}),
  });
  let store: BlobStore;
  try {
    store = await openStore();
  } catch (err) {
    return result('failed', `opening the store failed: ${message(err)}`);
  }
  let outcome: CaseResult;
  try {
    await testCase.run(new ScopedBlobStore(store, prefix), {
      prefix,
      settings,
      skip(reason: string): never {
        throw new CaseSkipped(reason);
      },
    });
    outcome = result('passed');
  } catch (err) {
    outcome = err instanceof CaseSkipped ? result('skipped', err.message) : result('failed', message(err));
  }
  try {
    const left = await cleanUp(store, prefix);
    if (left) outcome = result('failed', outcome.error ? `${outcome.error}; ${left}` : left);
  } catch (err) {
    outcome = result('failed', `${outcome.error ? `${outcome.error}; ` : ''}clean-up failed: ${message(err)}`);
  } finally {
    await store.close().catch(() => undefined);
  }
  return outcome;
}

/** Runs every case (or those `options.filter` accepts) one after the other. */
export async function runConformance(openStore: OpenStore, options: ConformanceOptions = {}): Promise<ConformanceResult> {
  const settings: ConformanceSettings = {
    largeBytes: options.largeBytes ?? DEFAULT_SETTINGS.largeBytes,
    listCount: options.listCount ?? DEFAULT_SETTINGS.listCount,
    openUnreachable: options.openUnreachable,
  };
  const base = options.prefix ?? runPrefix();
  const cases: CaseResult[] = [];
  for (const [i, testCase] of CONFORMANCE_CASES.entries()) {
    if (options.filter && !options.filter(testCase.name)) continue;
    const caseResult = await runCase(testCase, openStore, casePrefix(base, i), settings);
    cases.push(caseResult);
    options.onResult?.(caseResult);
  }
  const count = (status: CaseResult['status']) => cases.filter((c) => c.status === status).length;
  return { cases, passed: count('passed'), failed: count('failed'), skipped: count('skipped') };
}
