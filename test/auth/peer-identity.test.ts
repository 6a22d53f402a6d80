/**
 * Peer identity from the kernel, with real components: a Unix socket server in a temp folder,
 * clients in real processes running as root and as a real temporary OS user, groups made with
 * groupadd. What the server learns must be the client's real uid, gid and pid, whatever the
 * client writes in its request.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { groupsOf, peerOf, type PeerCredentials } from '#core/auth/peer-identity.js';
import { nodeAs, tempDir } from '../helpers/haven-cli.js';
import { createTemporaryUser, isRoot, makeTraversable, removeUser, type OsUser } from '../helpers/os-user.js';

// Connects, sends its request line (argv[3]), prints the server's answer. Plain CommonJS: it
// runs from a temp folder, outside the repository's packages.
const CLIENT = `
const net = require('node:net');
const [socketPath, request] = process.argv.slice(2);
const socket = net.connect(socketPath, () => socket.write(request + '\\n'));
let answer = '';
socket.setEncoding('utf8');
socket.on('data', (chunk) => (answer += chunk));
socket.on('end', () => process.stdout.write(answer));
socket.on('error', (error) => { console.error(error.message); process.exit(1); });
`;

/** What the server saw on one connection: the peer from the kernel, the request as sent. */
interface Seen {
  peer: PeerCredentials;
  request: unknown;
}

/** A server as system mode will have one: it asks the kernel who connected, at accept time. */
class PeerServer {
  readonly seen: Seen[] = [];
  private readonly server = net.createServer((socket) => this.answer(socket));
  private constructor(readonly socketPath: string) {}

  static async start(dir: string): Promise<PeerServer> {
    const peerServer = new PeerServer(path.join(dir, 'haven.sock'));
    await new Promise<void>((resolve, reject) => peerServer.server.once('error', reject).listen(peerServer.socketPath, resolve));
    // Every local user may connect, as to /run/haven/haven.sock: connect() needs write access.
    chmodSync(peerServer.socketPath, 0o777);
    return peerServer;
  }

  private answer(socket: net.Socket): void {
    // Asked before reading a byte: the answer cannot depend on what the client sends.
    const peer = peerOf(socket);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buffer += chunk;
      if (!buffer.includes('\n')) return;
      this.seen.push({ peer, request: JSON.parse(buffer.slice(0, buffer.indexOf('\n'))) });
      socket.end(`${JSON.stringify(peer)}\n`);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Runs the client, as `user` through setpriv (with `gid`, default its primary group) or else as
 * this process's root; returns its pid and output.
 */
function runClient(dir: string, socketPath: string, request: object, user?: OsUser, gid = user?.gid): Promise<{ pid: number; stdout: string }> {
  const node = nodeAs(user, gid);
  return new Promise((resolve, reject) => {
    const child = spawn(node[0], [...node.slice(1), path.join(dir, 'client.cjs'), socketPath, JSON.stringify(request)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`client exited ${code}: ${stderr}`));
      else resolve({ pid: child.pid!, stdout });
    });
  });
}

/** `id -G NAME` as a sorted list: the system's own answer to "which groups is NAME in". */
const idGroups = (name: string): number[] =>
  execFileSync('id', ['-G', name], { encoding: 'utf8' }).trim().split(/\s+/).map(Number).sort((a, b) => a - b);
const sorted = (gids: number[]): number[] => [...gids].sort((a, b) => a - b);
const gidOf = (group: string): number => Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]);

describe('peer identity from the kernel (SO_PEERCRED, getgrouplist)', () => {
  let user: OsUser | undefined;
  const groups: string[] = [];
  let dir: string;
  let server: PeerServer | undefined;
  let extraGid: number;

  before(async function () {
    if (!isRoot()) throw new Error('these tests create a real OS user and group and must run as root (CI does)');
    user = createTemporaryUser('haven-peer');
    dir = tempDir('haven-peer-');
    chmodSync(dir, 0o755);
    makeTraversable(dir);
    writeFileSync(path.join(dir, 'client.cjs'), CLIENT, { mode: 0o644 });
    server = await PeerServer.start(dir);
    extraGid = addUserToNewGroup('extra');
  });

  after(async () => {
    // Everything is attempted even when one step fails; the first failure is reported.
    const failures: unknown[] = [];
    const attempt = (step: () => void): void => {
      try {
        step();
      } catch (error) {
        failures.push(error);
      }
    };
    await server?.close();
    for (const group of groups) attempt(() => execFileSync('groupdel', [group], { stdio: 'ignore' }));
    if (user) attempt(() => removeUser(user!));
    if (failures.length > 0) throw failures[0];
  });

  /** A new group with the temporary user in it (gpasswd -a), removed in `after`. */
  function addUserToNewGroup(suffix: string): number {
    const group = `hvpeer-${process.pid}-${suffix}`;
    execFileSync('groupadd', [group]);
    groups.push(group);
    execFileSync('gpasswd', ['-a', user!.name, group], { stdio: 'ignore' });
    return gidOf(group);
  }

  describe('peerOf', () => {
    it('sees a client running as root as uid 0, gid 0, with its own pid', async () => {
      const client = await runClient(dir, server!.socketPath, { hello: 'root' });
      const { peer } = server!.seen.at(-1)!;
      expect(peer).to.deep.equal({ pid: client.pid, uid: 0, gid: 0 });
      expect(JSON.parse(client.stdout)).to.deep.equal(peer);
    });

    it('sees a client running as another user as exactly that user: its uid, gid and pid', async () => {
      const client = await runClient(dir, server!.socketPath, { hello: user!.name }, user);
      const { peer } = server!.seen.at(-1)!;
      expect(user!.uid).to.not.equal(0);
      expect(peer).to.deep.equal({ pid: client.pid, uid: user!.uid, gid: user!.gid });
    });

    it('tells the gid from the uid: a client running with another of its groups is seen with that gid', async () => {
      // useradd often gives a user a gid equal to its uid, which would hide a uid-for-gid mix-up.
      expect(extraGid).to.not.equal(user!.uid);
      const client = await runClient(dir, server!.socketPath, { hello: 'sg' }, user, extraGid);
      expect(server!.seen.at(-1)!.peer).to.deep.equal({ pid: client.pid, uid: user!.uid, gid: extraGid });
    });

    it('ignores the identity a request claims: a user who sends {"uid":0} is still seen as itself', async () => {
      const claim = { uid: 0, gid: 0, pid: 1, user: 'root' };
      const client = await runClient(dir, server!.socketPath, claim, user);
      const { peer, request } = server!.seen.at(-1)!;
      expect(request, 'the claim reached the server').to.deep.equal(claim);
      expect(peer).to.deep.equal({ pid: client.pid, uid: user!.uid, gid: user!.gid });
    });

    it('refuses a TCP socket: it has no peer credentials', async () => {
      const outcome = new Promise<unknown>((resolve) => {
        const tcp = net.createServer((socket) => {
          try {
            resolve(peerOf(socket));
          } catch (error) {
            resolve(error);
          }
          socket.destroy();
          tcp.close();
        });
        tcp.listen(0, '127.0.0.1', () => net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1').on('error', () => {}));
      });
      const error = await outcome;
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.equal('getsockopt(SO_PEERCRED): the socket has no peer credentials (not a connected Unix socket)');
    });

    it('refuses a socket that is not open, with a clear message', async () => {
      const socket = net.connect(server!.socketPath);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.destroy();
      expect(() => peerOf(socket)).to.throw('peerOf: the socket is not open (it has no handle: not yet connected, or already closed)');
    });
  });

  describe('groupsOf', () => {
    it('gives root the groups `id -G root` prints', () => {
      expect(sorted(groupsOf('root', 0))).to.deep.equal(idGroups('root'));
    });

    it('gives a user its primary group and a group it was added to, as `id -G NAME` prints', () => {
      const found = groupsOf(user!.name, user!.gid);
      expect(found).to.include.members([user!.gid, extraGid]);
      expect(sorted(found)).to.deep.equal(idGroups(user!.name));
    });

    it('grows its buffer for a user in more groups than it first makes room for (16)', () => {
      for (let i = 0; i < 20; i++) addUserToNewGroup(String(i));
      const found = groupsOf(user!.name, user!.gid);
      expect(found.length).to.be.greaterThan(16);
      expect(sorted(found)).to.deep.equal(idGroups(user!.name));
    });

    it('refuses what is not a user name or a group id, with a clear message', () => {
      expect(() => groupsOf('', 0)).to.throw(TypeError, 'groupsOf: not a user name: ""');
      expect(() => groupsOf('root\0x', 0)).to.throw(TypeError, 'groupsOf: not a user name');
      expect(() => groupsOf('root', -1)).to.throw(TypeError, 'groupsOf: not a group id: -1');
      expect(() => groupsOf('root', 1.5)).to.throw(TypeError, 'groupsOf: not a group id: 1.5');
    });
  });
});
