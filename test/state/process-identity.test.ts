/**
 * A pid is not an identity: after a reboot (or once pids wrap) the pid of a crashed run names
 * another process. Locks and run records carry the boot id and start time too, so such a
 * lock is stale and such a run is interrupted, instead of "held" or "running" for ever.
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isStampAlive, ownStamp } from '#core/util/process-identity.js';
import { tryLock } from '#core/util/file-lock.js';
import { localStore } from '../helpers/local-store.js';
import { openRepository } from '#core/engine/index.js';
import { havenSandbox, tempDir } from '../helpers/haven-cli.js';

const OTHER_BOOT = '00000000-0000-4000-8000-000000000000';

describe('process identity', () => {
  it('stamps this process with its boot and start time, and tells a successor with the same pid apart', () => {
    const me = ownStamp();
    expect(me.pid).to.equal(process.pid);
    expect(me.boot).to.match(/^[0-9a-f-]{36}$/);
    expect(me.started).to.match(/^\d+$/);
    expect(isStampAlive(me)).to.equal(true);
    expect(isStampAlive({ ...me, boot: OTHER_BOOT })).to.equal(false);
    expect(isStampAlive({ ...me, started: String(Number(me.started) + 1) })).to.equal(false);
  });

  it('takes over a state lock whose pid is alive but belongs to a process of another boot', async () => {
    const lock = path.join(tempDir(), 'x.lock');
    writeFileSync(lock, JSON.stringify({ ...ownStamp(), boot: OTHER_BOOT, host: os.hostname(), since: new Date().toISOString(), purpose: 'a run before the crash', nonce: 'n1' }));
    const result = await tryLock(lock, 'test');
    expect(result).to.have.property('release');
    if ('release' in result) await result.release();
  });

  it('calls a repository lock of a reused pid stale, so unlock removes it', async () => {
    const haven = havenSandbox();
    const source = path.join(haven.root, 'docs');
    mkdirSync(source);
    writeFileSync(path.join(source, 'a.txt'), 'a');
    const repoDir = path.join(haven.root, 'repo');
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repoDir}`, '--no-encryption']);
    await haven.json(['run', 'docs']);
    const repo = await openRepository(localStore(repoDir), { password: null });
    const now = new Date().toISOString();
    // Our own pid, alive, but started at another time: the holder of this lock is gone.
    await repo.saveJson('locks', { exclusive: true, host: os.hostname(), ...ownStamp(), started: '1', user: 'x', time: now, refreshed: now, purpose: 'prune' });
    await repo.close();
    const blocked = await haven.run(['repair', 'index', 'docs']);
    expect(blocked.code).to.equal(1);
    expect(blocked.stderr).to.contain('stale').and.contain('is no longer running');
    const unlocked = await haven.json<Array<{ stale: string }>>(['unlock', 'docs']);
    expect(unlocked).to.have.length(1);
    expect(readdirSync(path.join(repoDir, 'locks'))).to.deep.equal([]);
  });
});
