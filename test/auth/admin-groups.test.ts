/**
 * Who is an administrator: root, or a member of one of the admin groups (default sudo, wheel,
 * admin; configurable), with users and memberships read through NSS — checked against what
 * `id` says for a real temporary user and group, and through the CLI.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_ADMIN_GROUPS, identityOfUid } from '#core/auth/identity.js';
import { createTemporaryUser, isRoot, removeUser, sandboxFor, type OsUser } from '../helpers/os-user.js';

describe('administrators', function () {
  this.timeout(60_000);
  let user: OsUser;
  const group = `haven-ops-${process.pid}`;
  let groupMade = false;

  before(function () {
    if (!isRoot()) throw new Error('these tests create a real OS user and group and must run as root (CI does)');
    user = createTemporaryUser('haven-adm');
    execFileSync('groupadd', [group]);
    groupMade = true;
    execFileSync('gpasswd', ['-a', user.name, group], { stdio: 'ignore' });
  });

  after(() => {
    if (user) removeUser(user);
    if (groupMade) execFileSync('groupdel', [group], { stdio: 'ignore' });
  });

  it("names a uid's user and every group of it as `id` does", () => {
    const identity = identityOfUid(user.uid, DEFAULT_ADMIN_GROUPS);
    expect(identity.name).to.equal(execFileSync('id', ['-un', user.name], { encoding: 'utf8' }).trim());
    expect(identity.gid).to.equal(Number(execFileSync('id', ['-g', user.name], { encoding: 'utf8' })));
    expect([...identity.groups].sort()).to.deep.equal(execFileSync('id', ['-Gn', user.name], { encoding: 'utf8' }).trim().split(' ').sort());
    expect(identity.groups).to.include(group);
    expect(identity.isAdmin).to.equal(false);
    expect(identityOfUid(user.uid, [group]).isAdmin).to.equal(true);
    expect(identityOfUid(0, []).isAdmin, 'root always').to.equal(true);
    expect(() => identityOfUid(4_000_000_000, [])).to.throw('the system knows no user with uid 4000000000');
  });

  it('makes a member of sudo (a default admin group) an administrator, and of a group the settings name', async () => {
    const haven = sandboxFor(user);
    const systemDir = path.join(haven.root, 'system');
    chownSync(systemDir, user.uid, user.gid);
    const refused = await haven.run(['plugins', 'disable', 'network'], { user });
    expect(refused.code, 'not in an admin group yet').to.equal(5);

    execFileSync('gpasswd', ['-a', user.name, 'sudo'], { stdio: 'ignore' });
    try {
      const allowed = await haven.run(['plugins', 'disable', 'network'], { user });
      expect(allowed.code, allowed.stderr).to.equal(0);
    } finally {
      execFileSync('gpasswd', ['-d', user.name, 'sudo'], { stdio: 'ignore' });
    }

    // The settings name other groups: then sudo no longer counts, the named group does.
    writeFileSync(path.join(systemDir, 'settings.json'), JSON.stringify({ adminGroups: [group], disabledPlugins: [] }));
    const named = await haven.run(['plugins', 'enable', 'network'], { user });
    expect(named.code, named.stderr).to.equal(0);
    // An older settings file's single adminGroup still counts.
    writeFileSync(path.join(systemDir, 'settings.json'), JSON.stringify({ adminGroup: 'nobody-such-group', disabledPlugins: [] }));
    const legacy = await haven.run(['plugins', 'disable', 'network'], { user });
    expect(legacy.code).to.equal(5);
  });
});
