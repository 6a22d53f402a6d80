/** The engine calls the scan and copy hooks, and a ContentSource supplies a file's bytes. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { backup, initRepository, listDir, restore } from '#core/engine/index.js';
import { createHookSet } from '#core/hooks/hook-set.js';
import { localStore } from '../helpers/local-store.js';
import { META, tmp } from './engine-helpers.js';

describe('engine: hooks', function () {
  this.timeout(60_000);
  let work: string;
  before(() => (work = tmp('hooks')));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('claims sources, annotates entries, and takes content from openContent', async function () {
    const src = path.join(work, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'local.txt'), 'local bytes');
    writeFileSync(path.join(src, 'cloud.txt'), ''); // a placeholder: content comes from the hook
    const cloud = randomBytes(9 * 1024 * 1024 + 123);
    const hooks = createHookSet();
    const claimed: string[] = [];
    const before: string[] = [];
    const after: string[] = [];
    hooks.scan.claimSource.tapPromise('t', async (p) => {
      claimed.push(p);
      return { handler: 'test-handler' };
    });
    hooks.scan.annotateEntry.tapPromise('t', async (e) => {
      if (e.path.endsWith('cloud.txt')) e.annotations.cloudOnly = true;
      return e;
    });
    hooks.copy.openContent.tapPromise('t', async (e) => {
      if (!e.annotations.cloudOnly) return undefined;
      return {
        size: cloud.length,
        async *open() {
          for (let i = 0; i < cloud.length; i += 1_000_000) yield cloud.subarray(i, i + 1_000_000);
        },
      };
    });
    hooks.copy.beforeFile.tapPromise('t', async (e) => void before.push(path.basename(e.path)));
    hooks.copy.afterFile.tapPromise('t', async (e, err) => void after.push(`${path.basename(e.path)}:${err ? 'error' : 'ok'}`));

    const repo = await initRepository(localStore(path.join(work, 'repo')), { password: null });
    const r = await backup(repo, { sources: [src], excludes: [], meta: META(), hooks });
    expect(r.errors).to.deep.equal([]);
    expect(claimed).to.deep.equal([src]);
    expect(before.sort()).to.deep.equal(['cloud.txt', 'local.txt']);
    expect(after.sort()).to.deep.equal(['cloud.txt:ok', 'local.txt:ok']);
    const entries = await listDir(repo, r.snapshotId, '/src');
    expect(entries.find((e) => e.name === 'cloud.txt')!.size).to.equal(cloud.length);
    const out = path.join(work, 'out');
    await restore(repo, { snapshot: r.snapshotId, target: out, conflict: 'overwrite' });
    expect(readFileSync(path.join(out, 'src', 'cloud.txt')).equals(cloud)).to.equal(true);
    expect(readFileSync(path.join(out, 'src', 'local.txt'), 'utf8')).to.equal('local bytes');
    await repo.close();
  });
});
