/**
 * What a killed run leaves in the repository is found and removed (temporaries of dead
 * writers only, never of a live one), and repository files are private whatever the umask.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LocalBlobStore, temporaryPath } from '#plugin-local/local-blob-store.js';
import { HAVEN_BIN, havenSandbox, tempDir } from '../helpers/haven-cli.js';
import { listAll } from '../engine/engine-helpers.js';

function temporaries(repo: string): string[] {
  return listAll(repo).filter((rel) => rel.includes('.tmp-'));
}

describe('leftovers of killed runs', function () {
  this.timeout(180_000);

  it('a run killed mid-upload leaves temporaries that check reports and the next run removes', async () => {
    const haven = havenSandbox();
    const source = path.join(haven.root, 'big');
    mkdirSync(source);
    for (let i = 0; i < 8; i++) writeFileSync(path.join(source, `part-${i}.bin`), randomBytes(32 * 1024 * 1024));
    const repo = path.join(haven.root, 'repo');
    await haven.json(['task', 'create', 'big', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    let left: string[] = [];
    for (let attempt = 0; attempt < 5 && left.length === 0; attempt++) {
      const child = spawn(process.execPath, [HAVEN_BIN, 'run', 'big'], { env: haven.env, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('close', resolve));
      // SIGKILL the moment a pack is being written (the repository exists by then).
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && child.exitCode === null) {
        const data = path.join(repo, 'data');
        if (existsSync(data) && readdirSync(data, { recursive: true }).some((n) => String(n).includes('.tmp-'))) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      child.kill('SIGKILL');
      await exited;
      left = temporaries(repo);
    }
    expect(left, 'no temporary caught in 5 kills').to.not.be.empty;

    const check = await haven.run(['check', 'big', '--json']);
    expect(check.code, check.stdout + check.stderr + left.join()).to.equal(0);
    expect(JSON.parse(check.stdout).temporaries.count).to.equal(left.length);
    expect(temporaries(repo)).to.deep.equal(left); // check only reports
    const text = await haven.run(['check', 'big']);
    expect(text.stdout).to.match(/temporary file\(s\) of killed runs .*the next backup or `haven repair index` removes them/);

    const run = await haven.run(['run', 'big', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(temporaries(repo)).to.deep.equal([]);
  });

  it('removes temporaries of dead writers and old ones, and keeps those of a live writer', async () => {
    const dir = tempDir();
    const store = new LocalBlobStore(dir);
    await store.put('data/ab/placeholder', Buffer.from('x'));
    const target = path.join(dir, 'data', 'ab', 'ab'.padEnd(64, '0'));
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.on('close', resolve));
    const live = spawn('sleep', ['60']);
    try {
      writeFileSync(temporaryPath(target, dead.pid!), Buffer.alloc(1000));
      writeFileSync(temporaryPath(target, live.pid!), Buffer.alloc(10));
      writeFileSync(`${target}.tmp-0123456789ab`, Buffer.alloc(100)); // an older Haven's name: by age only
      writeFileSync(`${target}.tmp-ba9876543210`, Buffer.alloc(100));
      const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      utimesSync(`${target}.tmp-ba9876543210`, old, old);

      expect(await store.sweepTemporaries({ dryRun: true })).to.deep.equal({ count: 2, bytes: 1100 });
      expect(temporaries(dir)).to.have.length(4);
      expect(await store.sweepTemporaries({ dryRun: false })).to.deep.equal({ count: 2, bytes: 1100 });
      const kept = temporaries(dir);
      expect(kept).to.have.length(2);
      expect(kept.some((n) => n.includes(`-${live.pid}-`))).to.equal(true);
      expect(kept.some((n) => n.endsWith('.tmp-0123456789ab'))).to.equal(true);
    } finally {
      live.kill();
    }
  });
});

describe('repository modes', () => {
  it('are 0600 for files and 0700 for folders under umask 000', async () => {
    const haven = havenSandbox();
    const source = path.join(haven.root, 'docs');
    mkdirSync(source);
    writeFileSync(path.join(source, 'a.txt'), 'alpha\n');
    writeFileSync(path.join(haven.root, 'pass'), 'a passphrase\n', { mode: 0o600 });
    const repo = path.join(haven.root, 'new', 'repo');
    const { code } = await haven.run(['backup', source, '--to', `local:${repo}`, '--password-file', path.join(haven.root, 'pass')], { umask: 0o000 });
    expect(code).to.equal(0);
    const wrong: string[] = [];
    for (const rel of ['', ...listAll(repo)]) {
      const st = statSync(path.join(repo, rel));
      const want = st.isDirectory() ? 0o700 : 0o600;
      if ((st.mode & 0o777) !== want) wrong.push(`${rel || '.'}: ${(st.mode & 0o777).toString(8)}`);
    }
    expect(wrong).to.deep.equal([]);
    expect(statSync(path.join(haven.root, 'new')).mode & 0o777).to.equal(0o700);
  });
});
