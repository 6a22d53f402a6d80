/**
 * Real OS users for tests about rights. Tests run as root in CI, where root reads every file
 * and passes every check; behaviour for ordinary users is tested by running the real CLI as a
 * real unprivileged user created here with useradd.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, havenSandbox, type HavenSandbox } from './haven-cli.js';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

function lookup(name: string): OsUser | undefined {
  try {
    const line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim();
    const [, , uid, gid, , home] = line.split(':');
    return { name, uid: Number(uid), gid: Number(gid), home };
  } catch {
    return undefined;
  }
}

/** Users and groups this test process created, removed when it ends (even after a failure). */
const createdUsers: string[] = [];
const createdGroups: string[] = [];
process.on('exit', () => {
  for (const name of createdUsers.splice(0)) {
    try {
      execFileSync('userdel', ['--remove', name], { stdio: 'ignore' });
    } catch {
      // Best effort at exit; a user left behind is reused by ensureUser next time.
    }
  }
  for (const name of createdGroups.splice(0)) {
    try {
      execFileSync('groupdel', [name], { stdio: 'ignore' });
    } catch {
      // as above
    }
  }
});

/**
 * Returns the named user, creating it (as root) with a home folder if it does not exist; a
 * user created here is removed when the test process ends.
 */
export function ensureUser(name: string): OsUser {
  const existing = lookup(name);
  if (existing) return existing;
  if (!isRoot()) throw new Error(`test user ${name} does not exist and only root can create it`);
  const created = addUser(name);
  createdUsers.push(name);
  return created;
}

/** useradd: a user with a home folder and no login shell. */
function addUser(name: string): OsUser {
  execFileSync('useradd', ['--create-home', '--shell', '/usr/sbin/nologin', name]);
  const created = lookup(name);
  if (!created) throw new Error(`useradd ${name} did not create the user`);
  return created;
}

/** Creates the named group unless it exists; a group created here is removed when the test process ends. */
export function ensureGroup(name: string): number {
  try {
    return Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).split(':')[2]);
  } catch {
    execFileSync('groupadd', [name]);
    createdGroups.push(name);
    return Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).split(':')[2]);
  }
}

/** Makes sure an unprivileged user can reach `dir` (x on every parent folder) and read it. */
export function makeTraversable(dir: string): void {
  let current = path.resolve(dir);
  for (;;) {
    const mode = statSync(current).mode;
    if ((mode & constants.S_IXOTH) === 0) chmodSync(current, mode | constants.S_IXOTH);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  accessSync(dir, constants.R_OK);
}

/**
 * A fresh user of this test process's own (a unique name, so parallel test runs never share
 * one), for tests that must leave nothing behind: remove it with removeUser in an `after`
 * hook, which mocha runs even when a test failed.
 */
export function createTemporaryUser(prefix: string): OsUser {
  if (!isRoot()) throw new Error(`only root can create the test user ${prefix}-*`);
  return addUser(`${prefix}-${process.pid}`);
}

/** Removes a user made by createTemporaryUser, with its home folder. */
export function removeUser(user: OsUser): void {
  try {
    // userdel complains on stderr about a mail spool it did not find: not our concern.
    execFileSync('userdel', ['--remove', user.name], { stdio: 'ignore' });
  } catch {
    // Judged below by whether the user is gone, not by userdel's exit code.
  }
  if (lookup(user.name)) throw new Error(`could not remove the test user ${user.name}`);
}

/** A Haven sandbox `user` can work in: its personal folders are the user's, Haven's code readable. */
export function sandboxFor(user: OsUser, extraEnv: NodeJS.ProcessEnv = {}): HavenSandbox {
  const haven = havenSandbox(extraEnv);
  chmodSync(haven.root, 0o755);
  for (const dir of ['home', 'xdg-data']) chownSync(path.join(haven.root, dir), user.uid, user.gid);
  makeTraversable(REPO_ROOT);
  return haven;
}
