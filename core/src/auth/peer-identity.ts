/**
 * Who is on the other end of a Unix socket, from the kernel: for system mode, where a root
 * service answers users on /run/haven/haven.sock and must know who asks.
 *
 * Why this is sound: when a client calls connect() on a Unix socket, the kernel records that
 * process's pid, effective uid and effective gid on the connection (SO_PEERCRED). The client
 * never sends them and cannot change them afterwards — not by writing anything into the
 * request, not by changing its own ids later — so a uid or name the request itself claims is
 * ignored: callers decide from peerOf() alone. A process can present another uid only by
 * becoming that uid first, which takes root (CAP_SETUID), and root is trusted anyway.
 *
 * The work is done by our own Node-API addon (core/native/peer-identity, compiled from source
 * at install), since Node exposes neither SO_PEERCRED nor getgrouplist; the same addon names
 * users and groups through NSS (userOf, groupName).
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The peer as the kernel recorded it when it connected. */
export interface PeerCredentials {
  /**
   * The connecting process. Informational (logs, messages): it may have exited since and its
   * pid been reused, so never decide access by it — decide by uid and gid.
   */
  pid: number;
  uid: number;
  gid: number;
}

/** A user account as the system's user database (NSS) has it. */
export interface UserAccount {
  name: string;
  gid: number;
  home: string;
}

interface PeerIdentityAddon {
  peerCredentials(fd: number): PeerCredentials;
  groupsOf(userName: string, primaryGid: number): number[];
  userOf(uid: number): UserAccount | null;
  groupName(gid: number): string | null;
}

// Relative to this file, the same from core/src/auth and core/dist/auth.
const ADDON_PATH = '../../native/peer-identity/build/Release/peer_identity.node';

let addon: PeerIdentityAddon | undefined;

/**
 * Loaded on first use rather than at import, so a missing build fails at the call that needed
 * it, naming the file and the fix (every command names its user's groups through it, in
 * identity.ts; only system mode asks for a socket's peer).
 */
function loadAddon(): PeerIdentityAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require(ADDON_PATH) as PeerIdentityAddon;
  } catch (error) {
    const file = fileURLToPath(new URL(ADDON_PATH, import.meta.url));
    // First line only: Node appends a "Require stack" that says nothing more here (kept in cause).
    const why = String((error as Error).message).split('\n')[0];
    throw new Error(
      `the peer-identity addon could not be loaded from ${file} (${why}); ` +
        'it is compiled at install: run `npm ci` (or `node scripts/build-native.mjs`) in the Haven folder',
      { cause: error },
    );
  }
  return addon;
}

/**
 * The file descriptor behind a connected net.Socket. Node keeps it on the socket's native
 * handle (`_handle.fd`, a Pipe for Unix sockets), an internal field: absent before connect and
 * after close, -1 where the platform has no fds. Read it, and ask the kernel, synchronously
 * while the socket is open — a closed fd number can be reused by another connection.
 */
function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  if (handle === undefined || handle === null) {
    throw new Error('peerOf: the socket is not open (it has no handle: not yet connected, or already closed)');
  }
  const fd = handle.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new Error('peerOf: this Node does not expose the socket\'s file descriptor (socket._handle.fd); peer credentials need Linux');
  }
  return fd;
}

/**
 * The pid, uid and gid of the process at the other end of `socket`, a connected Unix socket
 * (typically one a net.Server just accepted). Throws for any other socket (TCP has no peer
 * credentials), and with the errno text when the kernel refuses.
 */
export function peerOf(socket: Socket): PeerCredentials {
  const fd = socketFd(socket);
  const { pid, uid, gid } = loadAddon().peerCredentials(fd);
  return { pid, uid, gid };
}

/**
 * Every group of `userName` (primary gid included, each once), as getgrouplist(3) finds them
 * through NSS: /etc/group, and LDAP or sssd groups where the system uses them — the same
 * answer as `id -G NAME`. A name the system does not know yields just `[primaryGid]`, so pass
 * the name that belongs to the peer's uid, not one taken from the request.
 */
export function groupsOf(userName: string, primaryGid: number): number[] {
  if (typeof userName !== 'string' || userName === '' || userName.includes('\0')) {
    throw new TypeError(`groupsOf: not a user name: ${JSON.stringify(userName)}`);
  }
  if (!Number.isInteger(primaryGid) || primaryGid < 0 || primaryGid >= 0xffffffff) {
    throw new TypeError(`groupsOf: not a group id: ${primaryGid}`);
  }
  return [...new Set(loadAddon().groupsOf(userName, primaryGid))];
}

/** The account of a uid through NSS (files, LDAP, sssd), or null when the system knows none. */
export function userOf(uid: number): UserAccount | null {
  if (!Number.isInteger(uid) || uid < 0 || uid >= 0xffffffff) throw new TypeError(`userOf: not a user id: ${uid}`);
  return loadAddon().userOf(uid);
}

/** The name of a group through NSS, or null when the system knows none. */
export function groupName(gid: number): string | null {
  if (!Number.isInteger(gid) || gid < 0 || gid >= 0xffffffff) throw new TypeError(`groupName: not a group id: ${gid}`);
  return loadAddon().groupName(gid);
}
