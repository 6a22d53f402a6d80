/**
 * Who is calling, as the operating system says: uid, user name, groups. Administrators are
 * root, or members of one of the admin groups named in the system settings (default `sudo`,
 * `wheel`, `admin`: the groups that administer a Debian, Fedora or macOS-style system).
 *
 * Names and memberships come from the system's user database through NSS (the peer-identity
 * addon's getpwuid_r / getgrouplist / getgrgid_r), so users and groups of LDAP or sssd count
 * as much as those of /etc/passwd and /etc/group.
 */
import * as os from 'node:os';
import { groupName, groupsOf, userOf } from './peer-identity.js';

export interface Identity {
  uid: number;
  gid: number;
  name: string;
  groups: string[];
  isAdmin: boolean;
}

export const DEFAULT_ADMIN_GROUPS: readonly string[] = ['sudo', 'wheel', 'admin'];

/** Names of these gids (a gid the system cannot name is left out: it cannot be an admin group). */
function groupNames(gids: Iterable<number>): string[] {
  return [...new Set(gids)].map((gid) => groupName(gid)).filter((name): name is string => name !== null);
}

function withAdmin(identity: Omit<Identity, 'isAdmin'>, adminGroups: readonly string[]): Identity {
  return { ...identity, isAdmin: identity.uid === 0 || identity.groups.some((g) => adminGroups.includes(g)) };
}

/**
 * This process's user. The groups are the ones the process carries (the kernel's list, as a
 * login or `setpriv --init-groups` set it up), named through NSS.
 */
export function currentIdentity(adminGroups: readonly string[]): Identity {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const groups = groupNames([gid, ...(process.getgroups?.() ?? [])]);
  return withAdmin({ uid, gid, name: os.userInfo().username, groups }, adminGroups);
}

/**
 * The user of a uid the kernel vouched for (a service's client): name, primary group and every
 * group through NSS. Throws when the system knows no such user.
 */
export function identityOfUid(uid: number, adminGroups: readonly string[]): Identity {
  const account = userOf(uid);
  if (!account) throw new Error(`the system knows no user with uid ${uid}`);
  const groups = groupNames(groupsOf(account.name, account.gid));
  return withAdmin({ uid, gid: account.gid, name: account.name, groups }, adminGroups);
}
