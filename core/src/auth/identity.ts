/**
 * Who is calling, as the operating system says: uid, user name, groups. Administrators are
 * root, or members of the admin group named in the system settings.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

export interface Identity {
  uid: number;
  gid: number;
  name: string;
  groups: string[];
  isAdmin: boolean;
}

export const DEFAULT_ADMIN_GROUP = 'haven-admins';

/** Group names of the given gids, from /etc/group (no shelling out). */
function groupNames(gids: number[]): string[] {
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    return [];
  }
  const wanted = new Set(gids);
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name && wanted.has(Number(gid))) names.push(name);
  }
  return names;
}

export function currentIdentity(adminGroup: string): Identity {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const info = os.userInfo();
  const groups = groupNames([gid, ...(process.getgroups?.() ?? [])]);
  return { uid, gid, name: info.username, groups, isAdmin: uid === 0 || groups.includes(adminGroup) };
}
