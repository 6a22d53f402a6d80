/**
 * State files are private (0600) and state folders private (0700) whatever the umask; the
 * computer-wide settings stay readable by everyone (0644); a state folder that already existed
 * keeps the mode its owner gave it.
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tryLock } from '#core/util/file-lock.js';
import { havenSandbox, tempDir, type HavenSandbox } from '../helpers/haven-cli.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

function smallSource(haven: HavenSandbox): string {
  const source = path.join(haven.root, 'documents');
  mkdirSync(source);
  writeFileSync(path.join(source, 'letter.txt'), 'dear reader\n');
  return source;
}

describe('state modes', () => {
  it('creates the state folder, task store, history and locks private under umask 000', async () => {
    const haven = havenSandbox();
    const source = smallSource(haven);
    // A state folder Haven creates itself (the sandbox's own one already exists).
    const home = path.join(haven.root, 'fresh', 'haven');
    const env = { HAVEN_HOME: home };
    const created = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${path.join(haven.root, 'repo')}`, '--no-encryption'], { env, umask: 0o000 });
    expect(created.code, created.stderr).to.equal(0);
    expect(modeOf(path.join(haven.root, 'fresh')).toString(8)).to.equal('700');
    expect(modeOf(home).toString(8)).to.equal('700');
    expect(modeOf(path.join(home, 'tasks.json')).toString(8)).to.equal('600');

    const run = await haven.run(['run', 'docs'], { env, umask: 0o000 });
    expect(run.code, run.stderr).to.equal(0);
    expect(modeOf(path.join(home, 'history')).toString(8)).to.equal('700');
    expect(modeOf(path.join(home, 'locks')).toString(8)).to.equal('700');
    const records = readdirSync(path.join(home, 'history'));
    expect(records).to.have.length(1);
    expect(modeOf(path.join(home, 'history', records[0]!)).toString(8)).to.equal('600');
    expect(modeOf(path.join(home, 'tasks.json')).toString(8)).to.equal('600'); // still, after rewrites
  });

  it('creates lock files 0600 under umask 000', async () => {
    const dir = path.join(tempDir(), 'locks');
    const previous = process.umask(0);
    try {
      const lock = await tryLock(path.join(dir, 'x.lock'), 'test');
      expect(modeOf(dir).toString(8)).to.equal('700');
      expect(modeOf(path.join(dir, 'x.lock')).toString(8)).to.equal('600');
      if ('release' in lock) await lock.release();
    } finally {
      process.umask(previous);
    }
  });

  it('leaves the mode of a state folder that already existed, and keeps the system settings readable by all', async function () {
    const haven = havenSandbox();
    const source = smallSource(haven);
    const home = haven.env.HAVEN_HOME!;
    const system = path.join(haven.root, 'new-system');
    const env = { HAVEN_SYSTEM_DIR: system };
    const before = modeOf(home);
    const created = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${path.join(haven.root, 'repo')}`, '--no-encryption'], { env, umask: 0o000 });
    expect(created.code, created.stderr).to.equal(0);
    expect(modeOf(home)).to.equal(before);
    expect(modeOf(path.join(home, 'tasks.json')).toString(8)).to.equal('600');

    if (process.getuid?.() !== 0) return; // changing the system settings needs root
    const disabled = await haven.run(['plugins', 'disable', 'network'], { env, umask: 0o000 });
    expect(disabled.code, disabled.stderr).to.equal(0);
    expect(modeOf(system).toString(8)).to.equal('755');
    expect(modeOf(path.join(system, 'settings.json')).toString(8)).to.equal('644');
  });
});
