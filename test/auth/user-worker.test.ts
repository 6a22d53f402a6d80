/**
 * Per-user workers: work for a user runs in a process that has become that user — uid, gid and
 * supplementary groups — before any of its code loads, so the kernel decides what it reads;
 * it sees the caller's environment only, streams messages back, and a worker killed with
 * SIGKILL is reported as such.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startUserWorker, WorkerDiedError } from '#core/service/user-worker.js';
import { FIXTURE_PLUGINS, tempDir } from '../helpers/haven-cli.js';
import { createTemporaryUser, isRoot, removeUser, type OsUser } from '../helpers/os-user.js';

const WORK = path.join(FIXTURE_PLUGINS, '..', 'workers', 'who-am-i.mjs');

describe('per-user workers', function () {
  this.timeout(60_000);
  let user: OsUser;
  const group = `haven-wkgrp-${process.pid}`;
  let groupMade = false;
  let groupGid: number;
  let files: Record<'mine' | 'rootOnly' | 'group', string>;

  before(function () {
    if (!isRoot()) throw new Error('these tests create a real OS user and must run as root (CI does)');
    user = createTemporaryUser('haven-wk');
    execFileSync('groupadd', [group]);
    groupMade = true;
    execFileSync('gpasswd', ['-a', user.name, group], { stdio: 'ignore' });
    groupGid = Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]);
    const dir = tempDir('haven-worker-');
    mkdirSync(path.join(dir, 'd'), { mode: 0o755 });
    execFileSync('chmod', ['755', dir]);
    files = { mine: path.join(dir, 'd', 'mine'), rootOnly: path.join(dir, 'd', 'root-only'), group: path.join(dir, 'd', 'group-shared') };
    writeFileSync(files.mine, 'x', { mode: 0o600 });
    chownSync(files.mine, user.uid, user.gid);
    writeFileSync(files.rootOnly, 'x', { mode: 0o600 });
    writeFileSync(files.group, 'x', { mode: 0o640 });
    chownSync(files.group, 0, groupGid);
  });

  after(() => {
    if (user) removeUser(user);
    if (groupMade) execFileSync('groupdel', [group], { stdio: 'ignore' });
  });

  it("runs as the user with their groups: reads their files and their group's, not root's", async () => {
    const messages: unknown[] = [];
    const worker = startUserWorker<{ uid: number; gid: number; groups: number[]; env: string; reads: Record<string, unknown> }>(
      user, WORK, { files: Object.values(files) }, { env: { PATH: process.env.PATH, HAVEN_TEST_ONLY_CALLER: 'from the caller' }, onMessage: (m) => messages.push(m) },
    );
    const result = await worker.result;
    expect(result).to.include({ uid: user.uid, gid: user.gid, env: 'from the caller' });
    expect(result.groups).to.include(groupGid);
    expect(result.groups).to.not.include(0);
    expect(result.reads).to.deep.equal({ [files.mine]: true, [files.rootOnly]: 'EACCES', [files.group]: true });
    expect(messages).to.deep.equal([{ step: 'started' }]);
  });

  it("passes the work's own failure back with its message and exit code", async () => {
    const worker = startUserWorker(user, WORK, { fail: true, files: [] }, { env: {} });
    const err = await worker.result.then(() => null, (e: Error & { exitCode?: number }) => e);
    expect(err?.message).to.equal('the work failed on purpose');
    expect(err?.exitCode).to.equal(3);
  });

  it('reports a worker killed with SIGKILL as died, with the signal', async () => {
    let started: () => void;
    const running = new Promise<void>((r) => (started = r));
    const worker = startUserWorker(user, WORK, { hang: true, files: [] }, { env: {}, onMessage: () => started() });
    await running;
    worker.kill('SIGKILL');
    const err = await worker.result.then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(WorkerDiedError);
    expect((err as WorkerDiedError).signal).to.equal('SIGKILL');
    expect((err as Error).message).to.match(new RegExp(`the worker for ${user.name} \\(pid \\d+\\) was killed by SIGKILL before it finished`));
  });
});
