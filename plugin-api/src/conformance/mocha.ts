/**
 * The kit as mocha tests: one `it` per case. Uses mocha's globals only when called, so
 * importing `@haven/plugin-api/conformance` outside mocha (the CLI) works.
 */
import { CONFORMANCE_CASES } from './cases.js';
import { casePrefix, runCase, runPrefix, type OpenStore } from './runner.js';
import { DEFAULT_SETTINGS, type ConformanceSettings } from './types.js';

interface MochaContext {
  skip(): void;
  timeout(ms: number): void;
}
type MochaGlobals = {
  describe(title: string, fn: () => void): void;
  it(title: string, fn: (this: MochaContext) => Promise<void>): void;
};

/** Registers `describe(name)` with one test per case; a skipped case shows as pending. */
export function describeBlobStore(name: string, openStore: OpenStore, settings: Partial<ConformanceSettings> = {}): void {
  const { describe, it } = globalThis as unknown as MochaGlobals;
  if (typeof describe !== 'function' || typeof it !== 'function') throw new Error('describeBlobStore() must be called inside a mocha test file (use runConformance() elsewhere)');
  const base = runPrefix();
  const all = { ...DEFAULT_SETTINGS, ...settings };
  describe(name, () => {
    for (const [i, testCase] of CONFORMANCE_CASES.entries()) {
      it(testCase.name, async function () {
        const result = await runCase(testCase, openStore, casePrefix(base, i), all);
        if (result.status === 'skipped') {
          // Mocha's pending tests carry no reason: print it, so a skip is never silent.
          console.log(`      skipped: ${result.skipped}`);
          this.skip();
        }
        if (result.status === 'failed') throw new Error(result.error);
      });
    }
  });
}
