/** Every case of the kit, in the order they run (quick ones first). */
import type { ConformanceCase } from './types.js';
import { blobCases } from './blob-cases.js';
import { listCases } from './list-cases.js';
import { concurrencyCases } from './concurrency-cases.js';
import { api11Cases } from './api-1-1-cases.js';
import { streamCases } from './stream-cases.js';

export const CONFORMANCE_CASES: readonly ConformanceCase[] = [...blobCases, ...listCases, ...concurrencyCases, ...api11Cases, ...streamCases];
