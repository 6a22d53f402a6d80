/** Prune's plan as tables: which packs stay, go, or are repacked, and which copy of a blob is kept. */
import { expect } from 'chai';
import { BlobType } from '#core/repository/pack.js';
import type { StoredPack } from '#core/repository/pack-inventory.js';
import { planPrune } from '#core/engine/prune-plan.js';

/** A pack of 100-byte blobs named by letters; size = blobs + 50 bytes of header. */
function pack(id: string, blobs: string, indexed = true): StoredPack {
  const entries = [...blobs].map((b, i) => ({ id: b, type: BlobType.Data, offset: i * 100, length: 100, rawLength: 100 }));
  return { id, size: entries.length * 100 + 50, entries, indexed };
}

function outline(packs: StoredPack[], used: string, threshold?: number): { keep: string[]; remove: string[]; repack: string[]; unusedBytesKept: number } {
  const plan = planPrune(packs, new Set(used), threshold);
  return {
    keep: plan.keep.map((p) => p.id),
    remove: plan.remove.map((p) => p.id),
    repack: plan.repack.map((r) => `${r.pack.id}:${r.blobs.map((b) => b.id).join('')}`),
    unusedBytesKept: plan.unusedBytesKept,
  };
}

describe('prune plan', function () {
  it('keeps fully used packs, removes unused ones, repacks over the threshold only', () => {
    // p3: 1 of 20 blobs unused (100 of 2050 bytes, under 10 %); p4: 2 of 4 unused.
    const packs = [pack('p1', 'ab'), pack('p2', 'cd'), pack('p3', 'efghijklmnopqrstuvwx'), pack('p4', 'yzAB')];
    expect(outline(packs, 'abefghijklmnopqrstuvwyz')).to.deep.equal({ keep: ['p1', 'p3'], remove: ['p2'], repack: ['p4:yz'], unusedBytesKept: 100 });
    // 0 repacks every partly used pack; 1 never repacks.
    expect(outline(packs, 'abefghijklmnopqrstuvwyz', 0).repack).to.deep.equal(['p3:efghijklmnopqrstuvw', 'p4:yz']);
    expect(outline(packs, 'abefghijklmnopqrstuvwyz', 1)).to.deep.include({ keep: ['p1', 'p3', 'p4'], repack: [], unusedBytesKept: 300 });
  });

  it('of two copies keeps the one in a wholly used pack: what a killed prune copied is not copied again', () => {
    // old: a partly used pack; copy: the new pack a killed prune wrote with its used blobs, unindexed.
    const packs = [pack('old', 'abcd'), pack('copy', 'ab', false)];
    expect(outline(packs, 'ab')).to.deep.include({ keep: ['copy'], remove: ['old'], repack: [] });
  });

  it('otherwise prefers the indexed copy, and a pack holding a blob twice counts the second as unused', () => {
    const packs = [pack('loose', 'ax', false), pack('listed', 'ay')];
    expect(outline(packs, 'a', 0.5)).to.deep.include({ keep: ['listed'], remove: ['loose'] });
    expect(outline([pack('twice', 'aab')], 'ab', 0.2).repack).to.deep.equal(['twice:ab']);
  });
});
