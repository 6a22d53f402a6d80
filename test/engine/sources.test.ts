/** Sources that are files, missing, repeated names; aborting a backup. */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { backup, check, initRepository, listDir, restore, type Repository } from '#core/engine/index.js';
import { localStore } from '../helpers/local-store.js';
import { META, tmp, writeRandomFile } from './engine-helpers.js';

describe('engine: sources and aborts', function () {
  this.timeout(60_000);
  let work: string;
  let repo: Repository;
  before(async () => {
    work = tmp('sources');
    repo = await initRepository(localStore(path.join(work, 'repo')), { password: 'pw' });
  });
  after(async () => {
    await repo.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('backs up a file source, disambiguates equal names, and lists a missing source as an error', async function () {
    mkdirSync(path.join(work, 'a', 'notes'), { recursive: true });
    mkdirSync(path.join(work, 'b', 'notes'), { recursive: true });
    writeFileSync(path.join(work, 'a', 'notes', 'x.txt'), 'from a');
    writeFileSync(path.join(work, 'b', 'notes', 'x.txt'), 'from b');
    writeFileSync(path.join(work, 'single.txt'), 'single file');
    const missing = path.join(work, 'does-not-exist');
    const r = await backup(repo, { sources: [path.join(work, 'a', 'notes'), path.join(work, 'b', 'notes'), path.join(work, 'single.txt'), missing], excludes: [], meta: META('s') });
    expect(r.errors.map((e) => e.path)).to.deep.equal([missing]);
    expect(r.files).to.equal(3);
    const top = (await listDir(repo, r.snapshotId)).map((e) => `${e.name}:${e.type}`);
    expect(top).to.deep.equal(['notes:dir', 'notes (2):dir', 'single.txt:file']);
    const out = path.join(work, 'out');
    await restore(repo, { snapshot: r.snapshotId, target: out, conflict: 'overwrite', paths: ['/notes (2)/x.txt', '/single.txt'] });
    expect(readFileSync(path.join(out, 'x.txt'), 'utf8')).to.equal('from b');
    expect(readFileSync(path.join(out, 'single.txt'), 'utf8')).to.equal('single file');
  });

  it('an aborted backup rejects, makes no snapshot, and leaves the repository clean', async function () {
    const big = path.join(work, 'big');
    mkdirSync(big);
    for (let i = 0; i < 4; i++) writeRandomFile(path.join(big, `f${i}`), 40 * 1024 * 1024);
    const ctrl = new AbortController();
    const before = (await repo.store.list('snapshots/')).length;
    let err: unknown;
    try {
      await backup(repo, { sources: [big], excludes: [], meta: META('abort'), signal: ctrl.signal, onProgress: () => ctrl.abort(new Error('stopped by test')) });
    } catch (e) {
      err = e;
    }
    expect((err as Error)?.message).to.equal('stopped by test');
    expect((await repo.store.list('snapshots/')).length).to.equal(before);
    expect((await repo.store.list('locks/')).length).to.equal(0);
    const report = await check(repo, { readData: false });
    expect(report.ok).to.equal(true);
    const again = await backup(repo, { sources: [big], excludes: [], meta: META('abort') });
    expect(again.errors).to.deep.equal([]);
  });

  it('a file that keeps changing while read is read twice, then listed in errors', async function () {
    const dir = path.join(work, 'growing');
    mkdirSync(dir);
    const file = path.join(dir, 'log.bin');
    writeRandomFile(file, 100 * 1024 * 1024);
    writeFileSync(path.join(dir, 'calm.txt'), 'calm');
    const writer = spawn('sh', ['-c', `while true; do echo line >> '${file}'; done`], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const r = await backup(repo, { sources: [dir], excludes: [], meta: META('growing') });
      expect(r.errors.map((e) => e.path)).to.deep.equal([file]);
      expect(r.errors[0].message).to.match(/changed while it was being read/);
      expect(r.files).to.equal(2);
    } finally {
      writer.kill();
    }
  });
});
