/**
 * The storage conformance kit (`@haven/plugin-api/conformance`): checks that a BlobStore keeps the
 * contract of storage.ts, from mocha (`describeBlobStore`), from any code
 * (`runConformance`) or from the CLI (`haven plugins check`). See docs/plugins.md.
 */
export { CONFORMANCE_CASES } from './cases.js';
export { runCase, runConformance, runPrefix, type OpenStore } from './runner.js';
export { describeBlobStore } from './mocha.js';
export { formatCase, formatSummary } from './report.js';
export * from './types.js';
