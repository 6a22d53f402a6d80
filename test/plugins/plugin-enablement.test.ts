/**
 * Enabling and disabling plugins: computer-wide, administrators only, enforced for a real
 * unprivileged OS user; a task whose provider is disabled does not run (exit 4) and runs
 * again once it is enabled.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox } from '../helpers/haven-cli.js';
import { ensureGroup, ensureUser, isRoot, sandboxFor } from '../helpers/os-user.js';

describe('plugin enablement', () => {
  before(function () {
    // Rights can only be tested for real with a second, unprivileged OS user.
    if (!isRoot()) throw new Error('these tests create a real OS user and must run as root (CI does)');
  });

  it('refuses enable/disable to a user who is not an administrator, changing nothing', async () => {
    const user = ensureUser('haven-plain');
    const haven = sandboxFor(user);
    const settingsFile = path.join(haven.root, 'system', 'settings.json');
    for (const verb of ['disable', 'enable']) {
      const result = await haven.run(['plugins', verb, 'local'], { user });
      expect(result.code, result.stderr).to.equal(5);
      expect(result.stderr).to.contain('only an administrator can enable or disable plugins');
    }
    expect(existsSync(settingsFile)).to.equal(false);
    // The same user can still list plugins.
    const list = await haven.run(['plugins', 'list', '--json'], { user });
    expect(list.code, list.stderr).to.equal(0);
  });

  it('lets a member of the admin group disable a plugin', async () => {
    const user = ensureUser('haven-groupadmin');
    const gid = ensureGroup('haven-admins');
    execFileSync('usermod', ['-aG', 'haven-admins', user.name]);
    const haven = sandboxFor(user);
    const systemDir = path.join(haven.root, 'system');
    // The system folder is writable by the admin group, as an installation would set it up.
    chownSync(systemDir, 0, gid);
    chmodSync(systemDir, 0o775);
    // This computer names its administrators' group in the settings (the default is sudo, wheel, admin).
    writeFileSync(path.join(systemDir, 'settings.json'), JSON.stringify({ adminGroups: ['haven-admins'], disabledPlugins: [] }), { mode: 0o664 });
    chownSync(path.join(systemDir, 'settings.json'), 0, gid);
    const result = await haven.run(['plugins', 'disable', 'network', '--json'], { user });
    expect(result.code, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout).state).to.equal('disabled');
    const settings = JSON.parse(readFileSync(path.join(systemDir, 'settings.json'), 'utf8'));
    expect(settings.disabledPlugins.map((d: { id: string; by: string }) => [d.id, d.by])).to.deep.equal([['network', user.name]]);
  });

  it('as root: disabling local makes its task skip with exit 4 and the reason; enabling restores it', async () => {
    const haven = havenSandbox();
    const source = path.join(haven.root, 'data');
    mkdirSync(source);
    writeFileSync(path.join(source, 'a.txt'), 'hello\n');
    const repo = path.join(haven.root, 'repo');
    const create = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    expect(create.code, create.stderr).to.equal(0);

    const disable = await haven.run(['plugins', 'disable', 'local']);
    expect(disable.code, disable.stderr).to.equal(0);
    const skipped = await haven.run(['run', 'docs', '--json']);
    expect(skipped.code).to.equal(4);
    const record = JSON.parse(skipped.stdout);
    expect(record.status).to.equal('skipped');
    expect(record.reason).to.contain('storage provider "local"').and.contain('disabled by an administrator');
    expect(existsSync(repo), 'a skipped run must not touch the destination').to.equal(false);

    // Disabling deleted nothing: the task is still there.
    expect((await haven.json<Array<{ name: string }>>(['task', 'list'])).map((t) => t.name)).to.deep.equal(['docs']);

    expect((await haven.run(['plugins', 'enable', 'local'])).code).to.equal(0);
    const ran = await haven.run(['run', 'docs', '--json']);
    expect(ran.code, ran.stderr).to.equal(0);
    expect(JSON.parse(ran.stdout).status).to.equal('success');
    const history = await haven.json<Array<{ status: string }>>(['history', 'docs']);
    expect(history.map((r) => r.status)).to.deep.equal(['success', 'skipped']);
  });
});
