/** The text form of a run: one line per case, then the counts (what `haven plugins check` prints). */
import type { CaseResult, ConformanceResult } from './types.js';

export function formatCase(c: CaseResult): string {
  const outcome = c.status === 'passed' ? 'ok' : c.status === 'skipped' ? `skipped: ${c.skipped}` : `FAILED: ${c.error}`;
  return `${c.name} (${c.ms} ms): ${outcome}`;
}

export function formatSummary(r: ConformanceResult): string {
  return `${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`;
}
