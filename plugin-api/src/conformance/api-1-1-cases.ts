/** Cases on what API 1.1 added: putIfAbsent and cancellation through a signal. */
import type { BlobStore } from '../storage.js';
import type { ConformanceCase } from './types.js';
import { completesOrCancels, expectBytes, expectEqual, expectListing, fail, randomBlob, settleAll } from './assertions.js';

const MiB = 1024 * 1024;

/** The blob is either absent or whole: what a cancelled put may leave. */
async function expectAbsentOrWhole(store: BlobStore, name: string, data: Buffer, what: string): Promise<void> {
  if ((await store.stat(name)) === null) return;
  expectBytes(await store.get(name), data, `${what}: the blob exists, so it must be whole`);
}

export const api11Cases: ConformanceCase[] = [
  {
    name: 'putIfAbsent: of two racing calls exactly one wins, and its blob stays',
    async run(store, ctx) {
      const putIfAbsent = store.putIfAbsent?.bind(store);
      if (!putIfAbsent) return ctx.skip('the store has no putIfAbsent (optional since API 1.1; the core then uses a weaker create-then-read-back)');
      const first = randomBlob(1000);
      expectEqual(await putIfAbsent('once', first), true, 'putIfAbsent("once") of a free name');
      expectEqual(await putIfAbsent('once', randomBlob(2000)), false, 'putIfAbsent("once") when it exists');
      expectBytes(await store.get('once'), first, 'get("once") after a refused putIfAbsent');
      // Several rounds: a race that is lost only sometimes must still be caught.
      for (let round = 0; round < 5; round++) {
        const name = `race-${round}`;
        const contenders = [randomBlob(MiB), randomBlob(MiB + 1)];
        const won = await settleAll(contenders.map((data) => putIfAbsent(name, data)));
        if (won.filter((w) => w === true).length !== 1 || won.some((w) => typeof w !== 'boolean')) {
          fail(`two racing putIfAbsent("${name}") calls returned ${JSON.stringify(won)}: expected exactly one true and one false`);
        }
        expectBytes(await store.get(name), contenders[won.indexOf(true)], `get("${name}") after the race: the winner's content`);
      }
    },
  },
  {
    // 1.0 providers ignore signals and complete; 1.1 ones may stop. Either way nothing may be
    // left half-written, and no other error is acceptable.
    name: "calls with an aborted signal complete or reject with code 'ECANCELLED', leaving nothing half-written",
    async run(store) {
      const aborted = AbortSignal.abort();
      const kept = randomBlob(1000);
      await store.put('kept', kept);
      const data = randomBlob(MiB);
      await completesOrCancels(store.put('put', data, { signal: aborted }), 'put("put")');
      await expectAbsentOrWhole(store, 'put', data, 'after put("put") with an aborted signal');
      const got = await completesOrCancels(store.get('kept', undefined, { signal: aborted }), 'get("kept")');
      if (got.completed) expectBytes(got.value, kept, 'get("kept") with an aborted signal that completed');
      const ranged = await completesOrCancels(store.get('kept', { offset: 10, length: 10 }, { signal: aborted }), 'get("kept") of a range');
      if (ranged.completed) expectBytes(ranged.value, kept.subarray(10, 20), 'get("kept") of a range with an aborted signal that completed');
      const listed = await completesOrCancels(store.list('kept', { signal: aborted }), 'list("kept")');
      if (listed.completed) expectListing(listed.value, new Map([['kept', kept.length]]), 'list("kept") with an aborted signal that completed');
      const info = await completesOrCancels(store.stat('kept', { signal: aborted }), 'stat("kept")');
      if (info.completed) expectEqual(info.value?.size, kept.length, 'stat("kept").size with an aborted signal that completed');
      if (store.putIfAbsent) {
        const fresh = randomBlob(MiB);
        await completesOrCancels(store.putIfAbsent('pia', fresh, { signal: aborted }), 'putIfAbsent("pia")');
        await expectAbsentOrWhole(store, 'pia', fresh, 'after putIfAbsent("pia") with an aborted signal');
      }
      const removed = await completesOrCancels(store.delete('kept', { signal: aborted }), 'delete("kept")');
      if (removed.completed) expectEqual(await store.stat('kept'), null, 'stat("kept") after a delete with an aborted signal that completed');
      else expectBytes(await store.get('kept'), kept, 'get("kept") after a cancelled delete');

      // Aborted while in flight: the put stops or finishes, and the blob is absent or whole.
      const controller = new AbortController();
      const big = randomBlob(8 * MiB);
      const inFlight = completesOrCancels(store.put('in-flight', big, { signal: controller.signal }), 'put("in-flight") aborted while running');
      setImmediate(() => controller.abort());
      await inFlight;
      await expectAbsentOrWhole(store, 'in-flight', big, 'after put("in-flight") was aborted while running');
    },
  },
];
