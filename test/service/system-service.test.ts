/**
 * System mode against a real `haven service` (issue 16's "Done when"): real OS users made with
 * useradd, the CLI run as each of them through the service's socket, the service's workers
 * running as the task's owner. Needs root (CI runs as root).
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { FIXTURE_PLUGINS, HAVEN_BIN, REPO_ROOT, havenSandbox, nodeAs, type CliResult, type HavenSandbox } from '../helpers/haven-cli.js';
import { createTemporaryUser, ensureGroup, isRoot, makeTraversable, removeUser, type OsUser } from '../helpers/os-user.js';
import { startService, type ServiceUnderTest } from '../helpers/haven-service.js';

/** Child processes of `parent` running as `uid` (the service's workers for that user), from /proc. */
function workersOf(parent: number, uid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const realUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (ppid === parent && realUid === uid) found.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

async function until(what: string, condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A folder owned by `user` with mode 0700, holding `files`. */
function ownedFolder(dir: string, user: OsUser | undefined, files: Record<string, string | Buffer> = {}): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  if (user) {
    chownSync(dir, user.uid, user.gid);
    for (const name of Object.keys(files)) chownSync(path.join(dir, name), user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  return dir;
}

describe('system mode: a real haven service', function () {
  this.timeout(300_000);
  let haven: HavenSandbox;
  let service: ServiceUnderTest | undefined;
  const users: OsUser[] = [];
  let alice: OsUser;
  let bob: OsUser;
  let admin: OsUser;
  let dir: (name: string) => string;

  /** The CLI as `user`, through the service (its own personal folder stays empty). */
  const as = (user: OsUser | undefined, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    haven.run(args, { user, env: { HAVEN_HOME: dir(`personal-${user?.name ?? 'root'}`), ...env } });
  const asJson = async <T>(user: OsUser | undefined, args: string[]): Promise<T> => {
    const r = await as(user, [...args, '--json']);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.be.oneOf([0, 3]);
    return JSON.parse(r.stdout) as T;
  };
  const names = async (user: OsUser | undefined) => (await asJson<Array<{ name: string }>>(user, ['task', 'list'])).map((t) => t.name).sort();

  before(async function () {
    // Real OS users and a root service: a run as another user cannot test this, so it fails saying why.
    if (!isRoot()) throw new Error('these tests create OS users and run a root service: run them as root (CI does)');
    alice = createTemporaryUser('hvalice');
    bob = createTemporaryUser('hvbob');
    admin = createTemporaryUser('hvadmin');
    users.push(alice, bob, admin);
    const adminGroup = `hvadm${process.pid}`;
    ensureGroup(adminGroup);
    execFileSync('usermod', ['-aG', adminGroup, admin.name]);

    // A storage plugin that notes the uid of every process its code runs in.
    // …and one that starts on-connect runs when told (a stand-in for a drive being plugged in).
    haven = havenSandbox({ HAVEN_PLUGIN_PATH: [path.join(FIXTURE_PLUGINS, 'whoami'), path.join(FIXTURE_PLUGINS, 'connect-trigger')].join(':') });
    chmodSync(haven.root, 0o755);
    makeTraversable(REPO_ROOT);
    dir = (name) => path.join(haven.root, name);
    haven.env.HAVEN_SOCKET = path.join(haven.root, 'run', 'haven.sock');
    writeFileSync(path.join(haven.env.HAVEN_SYSTEM_DIR!, 'settings.json'), JSON.stringify({ adminGroups: [adminGroup], disabledPlugins: [] }));
    for (const user of [alice, bob, admin, undefined]) ownedFolder(dir(`personal-${user?.name ?? 'root'}`), user);

    ownedFolder(dir('alice-src'), alice, { 'notes.txt': 'alice notes\n' });
    // Bob's private file, inside Alice's folder: Alice cannot read it, root could.
    writeFileSync(path.join(dir('alice-src'), 'bob-secret.txt'), 'bob only\n', { mode: 0o600 });
    chownSync(path.join(dir('alice-src'), 'bob-secret.txt'), bob.uid, bob.gid);
    chmodSync(path.join(dir('alice-src'), 'bob-secret.txt'), 0o600);
    ownedFolder(dir('alice-repo'), alice);
    ownedFolder(dir('alice-out'), alice);
    ownedFolder(dir('bob-src'), bob, { 'b.txt': 'bob\n' });
    ownedFolder(dir('bob-repo'), bob);
    ownedFolder(dir('root-only'), undefined);
    chmodSync(dir('root-only'), 0o755);

    // Two legacy tasks (made before tasks had owners), in the service's task store.
    ownedFolder(dir('legacy-src'), undefined, { 'open.txt': 'everyone\n' });
    writeFileSync(path.join(dir('legacy-src'), 'alice-only.txt'), 'alice only\n');
    chownSync(path.join(dir('legacy-src'), 'alice-only.txt'), alice.uid, alice.gid);
    chmodSync(path.join(dir('legacy-src'), 'alice-only.txt'), 0o600);
    chmodSync(dir('legacy-src'), 0o755);
    mkdirSync(dir('legacy-repo1'));
    chmodSync(dir('legacy-repo1'), 0o777);
    ownedFolder(dir('legacy-repo2'), alice);
    const legacy = (id: string, name: string, repo: string) => ({
      id, name, owner: null, sources: [dir('legacy-src')], excludes: [], destination: `local:${dir(repo)}`, schedule: 'manual',
      retention: {}, encryption: 'none', createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z',
    });
    writeFileSync(path.join(haven.env.HAVEN_HOME!, 'tasks.json'), JSON.stringify({
      version: 1,
      tasks: [legacy('9d0c1c1e-0000-4000-8000-000000000001', 'shared-legacy', 'legacy-repo1'), legacy('9d0c1c1e-0000-4000-8000-000000000002', 'adopt-legacy', 'legacy-repo2')],
    }), { mode: 0o600 });

    service = await startService(haven, { args: ['--grace', '0'] });
    for (const [user, name] of [[alice, 'a-docs'], [bob, 'b-docs']] as const) {
      const src = user === alice ? 'alice-src' : 'bob-src';
      const repo = user === alice ? 'alice-repo' : 'bob-repo';
      const created = await as(user, ['task', 'create', name, '--source', dir(src), '--dest', `local:${dir(repo)}`, '--no-encryption']);
      expect(created.code, created.stderr).to.equal(0);
      // The provider's advice reaches the client that asked, as in personal mode.
      expect(created.stderr).to.contain('haven: warning: the destination').and.contain('is on the same drive as');
    }
  });

  after(async () => {
    await service?.stop();
    for (const user of users) removeUser(user);
  });

  it('shows each user their own tasks and the legacy ones, an administrator every task; the service alone writes the state', async () => {
    expect(await names(alice)).to.deep.equal(['a-docs', 'adopt-legacy', 'shared-legacy']);
    expect(await names(bob)).to.deep.equal(['adopt-legacy', 'b-docs', 'shared-legacy']);
    expect(await names(admin)).to.deep.equal(['a-docs', 'adopt-legacy', 'b-docs', 'shared-legacy']);
    expect(await names(undefined)).to.deep.equal(['a-docs', 'adopt-legacy', 'b-docs', 'shared-legacy']);
    const hidden = await as(bob, ['task', 'show', 'a-docs']);
    expect(hidden.code).to.equal(2);
    expect(hidden.stderr).to.contain('no task named "a-docs"');
    // The tasks are in the service's store (root's, private), and no client wrote one of its own.
    const store = statSync(path.join(haven.env.HAVEN_HOME!, 'tasks.json'));
    expect([store.uid, store.mode & 0o777]).to.deep.equal([0, 0o600]);
    expect(JSON.parse(readFileSync(path.join(haven.env.HAVEN_HOME!, 'tasks.json'), 'utf8')).tasks.map((t: { name: string }) => t.name)).to.include.members(['a-docs', 'b-docs']);
    for (const user of [alice, bob, admin]) expect(readdirSync(dir(`personal-${user.name}`)), user.name).to.deep.equal([]);
    expect(service!.log()).to.contain(`${alice.name} (uid ${alice.uid}, pid `).and.contain('task.create');
    // A task on a schedule, for the last test: by then the service has run it by itself.
    ownedFolder(dir('bob-minutely-repo'), bob);
    const minutely = await as(bob, ['task', 'create', 'minutely', '--source', dir('bob-src'), '--dest', `local:${dir('bob-minutely-repo')}`, '--no-encryption', '--schedule', 'every 1 minutes']);
    expect(minutely.code, minutely.stderr).to.equal(0);
    expect(minutely.stdout).to.match(/schedule: +every 1 minutes \(next run \d{4}-\d\d-\d\d \d\d:\d\d\)/);
  });

  it("refuses an administrator's edit or delete of another user's task (exit 5, naming its owner)", async () => {
    const edit = await as(admin, ['task', 'edit', 'a-docs', '--schedule', 'daily 02:00']);
    expect(edit.code).to.equal(5);
    expect(edit.stderr).to.contain(`belongs to ${alice.name}; only its owner can change it`);
    const del = await as(admin, ['task', 'delete', 'a-docs']);
    expect(del.code).to.equal(5);
    expect(del.stderr).to.contain(`belongs to ${alice.name}`);
    const task = await asJson<{ schedule: string }>(alice, ['task', 'show', 'a-docs']);
    expect(task.schedule).to.equal('manual');
  });

  it("runs a task with its owner's rights, whoever starts it, with progress through the socket", async () => {
    const mine = await as(alice, ['run', 'a-docs', '--json', '--progress']);
    expect(mine.code, mine.stderr).to.equal(3);
    const record = JSON.parse(mine.stdout);
    expect(record.status).to.equal('partial');
    expect(record.errors.map((e: { path: string }) => e.path)).to.deep.equal([path.join(dir('alice-src'), 'bob-secret.txt')]);
    expect(record.errors[0].message).to.contain('EACCES');
    expect(mine.stderr).to.match(/backup \| .*files/);
    // The kernel wrote the repository as Alice.
    expect(statSync(path.join(dir('alice-repo'), 'config')).uid).to.equal(alice.uid);
    for (const starter of [admin, undefined]) {
      const other = await as(starter, ['run', 'a-docs', '--json']);
      expect(other.code, other.stderr).to.equal(3);
      const r = JSON.parse(other.stdout);
      expect(r.startedBy).to.equal(starter?.name ?? 'root');
      expect(r.errors.map((e: { path: string }) => path.basename(e.path))).to.deep.equal(['bob-secret.txt']);
    }
    const history = await asJson<Array<{ startedBy: string; status: string }>>(alice, ['history', 'a-docs']);
    expect(history.map((h) => h.startedBy)).to.deep.equal(['root', admin.name, alice.name]);
  });

  it("checks the paths of a new task with the caller's rights, not the service's", async () => {
    ownedFolder(dir('root-private'), undefined, { 'secret.txt': 'root\n' });
    chmodSync(dir('root-private'), 0o700);
    const hidden = await as(alice, ['task', 'create', 'peek', '--source', path.join(dir('root-private'), 'secret.txt'), '--dest', `local:${dir('alice-repo')}`, '--no-encryption']);
    expect(hidden.code).to.equal(2);
    expect(hidden.stderr).to.contain('cannot be reached: permission denied');
    const password = await as(alice, ['task', 'create', 'peek', '--source', dir('alice-src'), '--dest', `local:${dir('alice-repo')}`, '--password-file', path.join(dir('root-private'), 'secret.txt')]);
    expect(password.code).to.equal(2);
    expect(password.stderr).to.contain('is not a readable file');
    expect(await names(alice)).to.not.include('peek');
  });

  it("runs a storage plugin's code for a user's task as that user, never in the root service", async () => {
    mkdirSync(dir('shared'));
    chmodSync(dir('shared'), 0o1777);
    const dest = path.join(dir('shared'), 'who-repo');
    const created = await as(alice, ['task', 'create', 'who', '--source', dir('alice-src'), '--dest', `whoami:${dest}`, '--no-encryption']);
    expect(created.code, created.stderr).to.equal(0);
    const run = await as(admin, ['run', 'who']);
    expect(run.code, run.stderr).to.equal(3);
    const calls = readFileSync(`${dest}.who`, 'utf8').trim().split('\n');
    expect(calls.length).to.be.at.least(2);
    expect(calls.filter((c) => c.startsWith('validate'))).to.not.be.empty;
    expect(calls.filter((c) => c.startsWith('open'))).to.not.be.empty;
    expect(calls.every((c) => c.endsWith(` ${alice.uid}`)), calls.join(', ')).to.equal(true);
  });

  it("runs a legacy task with the rights of whoever starts it, and with its editor's rights once a user edits it", async () => {
    const byBob = await as(bob, ['run', 'shared-legacy', '--json']);
    expect(byBob.code, byBob.stderr).to.equal(3);
    expect(JSON.parse(byBob.stdout).errors.map((e: { path: string }) => path.basename(e.path))).to.deep.equal(['alice-only.txt']);

    const edit = await as(alice, ['task', 'edit', 'adopt-legacy', '--exclude', '*.tmp']);
    expect(edit.code, edit.stderr).to.equal(0);
    const adopted = await asJson<{ owner: { uid: number; name: string }; ownerSince: string }>(alice, ['task', 'show', 'adopt-legacy']);
    expect(adopted.owner).to.deep.equal({ uid: alice.uid, name: alice.name });
    expect(Date.now() - Date.parse(adopted.ownerSince)).to.be.within(0, 120_000);
    expect((await as(alice, ['task', 'show', 'adopt-legacy'])).stdout).to.contain(`owner:        ${alice.name} (since `);
    expect(await names(bob)).to.not.include('adopt-legacy');

    // Started by an administrator, it runs as Alice: her file is read, the repository is hers.
    const byAdmin = await as(admin, ['run', 'adopt-legacy', '--json']);
    expect(byAdmin.code, byAdmin.stderr).to.equal(0);
    expect(JSON.parse(byAdmin.stdout).files).to.equal(2);
    expect(statSync(path.join(dir('legacy-repo2'), 'config')).uid).to.equal(alice.uid);
  });

  it('restores for a user from their own task into folders they can write, and for an administrator from any task into any folder', async () => {
    const mine = await as(alice, ['restore', 'a-docs', '--to', dir('alice-out')]);
    expect(mine.code, mine.stderr).to.equal(0);
    const restored = path.join(dir('alice-out'), 'alice-src', 'notes.txt');
    expect(readFileSync(restored, 'utf8')).to.equal('alice notes\n');
    expect(statSync(restored).uid).to.equal(alice.uid);

    const nowhere = await as(alice, ['restore', 'a-docs', '--to', path.join(dir('root-only'), 'alice-try')]);
    expect(nowhere.code).to.equal(5);
    expect(nowhere.stderr).to.contain(`you cannot write to ${dir('root-only')}`);
    expect(existsSync(path.join(dir('root-only'), 'alice-try'))).to.equal(false);

    const notHers = await as(bob, ['restore', 'a-docs', '--to', path.join(dir('personal-' + bob.name), 'x')]);
    expect(notHers.code).to.equal(2);
    expect(notHers.stderr).to.contain('no task named "a-docs"');

    const byAdmin = await as(admin, ['restore', 'a-docs', '--to', path.join(dir('root-only'), 'by-admin')]);
    expect(byAdmin.code, byAdmin.stderr).to.equal(0);
    expect(readFileSync(path.join(dir('root-only'), 'by-admin', 'alice-src', 'notes.txt'), 'utf8')).to.equal('alice notes\n');
  });

  it('takes the caller from the kernel and ignores who the request claims to be', async () => {
    const script = `
      const net = require('node:net');
      const requests = JSON.parse(process.argv[1]);
      (async () => {
        for (const request of requests) {
          const reply = await new Promise((resolve) => {
            let text = '';
            const s = net.connect(process.argv[2], () => s.write(JSON.stringify(request) + '\\n'));
            s.on('data', (d) => (text += d));
            s.on('close', () => resolve(text.trim().split('\\n').map((l) => JSON.parse(l)).pop()));
          });
          console.log(JSON.stringify(reply));
        }
      })();`;
    const claims = { uid: 0, gid: 0, user: 'root', name: 'root', isAdmin: true, caller: { uid: alice.uid, name: alice.name, isAdmin: true }, peer: { uid: 0 } };
    const requests = [
      { method: 'task.list', params: {}, env: {}, ...claims },
      { method: 'plugins.setEnabled', params: { id: 'local', enabled: false }, env: {}, ...claims },
      { method: 'task.delete', params: { name: 'a-docs' }, env: {}, ...claims },
    ];
    const node = nodeAs(bob);
    const out = execFileSync(node[0], [...node.slice(1), '-e', script, JSON.stringify(requests), service!.socket], { encoding: 'utf8' });
    const [list, disable, del] = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(list.result.map((t: { name: string }) => t.name).sort()).to.deep.equal(['b-docs', 'minutely', 'shared-legacy']);
    expect(disable.error.exitCode).to.equal(5);
    expect(disable.error.message).to.contain('only an administrator');
    expect(del.error.message).to.contain('no task named "a-docs"');
    expect(await names(alice)).to.include('a-docs');
    expect((await asJson<Array<{ id: string; state: string }>>(alice, ['plugins', 'list'])).find((p) => p.id === 'local')!.state).to.not.equal('disabled');
  });

  describe('long runs', () => {
    before(() => {
      // ~160 MB of incompressible data: long enough to be stopped mid-way.
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 10; i++) files[`blob-${i}.bin`] = randomBytes(16 * 1024 * 1024);
      ownedFolder(dir('alice-big'), alice, files);
    });

    /** Starts `haven run NAME --progress` as Alice; resolves once its progress line showed. */
    async function startRun(name: string) {
      const node = nodeAs(alice);
      const child = spawn(node[0], [...node.slice(1), HAVEN_BIN, 'run', name, '--progress'], {
        env: { ...haven.env, HAVEN_HOME: dir(`personal-${alice.name}`) },
        cwd: haven.root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
      await until('the run to report progress', () => /backup \|/.test(stderr));
      return { child, done };
    }

    async function bigTask(name: string): Promise<void> {
      ownedFolder(dir(`${name}-repo`), alice);
      const r = await as(alice, ['task', 'create', name, '--source', dir('alice-big'), '--dest', `local:${dir(`${name}-repo`)}`, '--no-encryption']);
      expect(r.code, r.stderr).to.equal(0);
    }

    it('records a worker killed by SIGKILL as a failed run; the repository stays valid, the next run completes, the service keeps serving', async () => {
      await bigTask('big');
      const { done } = await startRun('big');
      const workers = workersOf(service!.pid, alice.uid);
      expect(workers, 'one worker running as Alice').to.have.length(1);
      process.kill(workers[0], 'SIGKILL');
      const killed = await done;
      expect(killed.code).to.equal(1);
      expect(killed.stdout).to.contain('failed').and.contain('killed by SIGKILL');
      const [last] = await asJson<Array<{ status: string; reason: string }>>(alice, ['history', 'big', '--limit', '1']);
      expect(last.status).to.equal('failed');
      expect(last.reason).to.contain('killed by SIGKILL');

      const check = await as(alice, ['check', 'big']);
      expect(check.code, check.stdout + check.stderr).to.equal(0);
      const again = await as(alice, ['run', 'big', '--json']);
      expect(again.code, again.stderr).to.equal(0);
      expect(JSON.parse(again.stdout).files).to.equal(10);
      expect((await as(alice, ['check', 'big', '--read-data'])).code).to.equal(0);
      // Each worker ends once its work is answered (no process left behind).
      await until('the workers to end', () => workersOf(service!.pid, alice.uid).length === 0, 20_000);
    });

    it('cancels the run in the service when the client gets Ctrl-C (exit 130, recorded as interrupted)', async () => {
      await bigTask('big2');
      const { child, done } = await startRun('big2');
      child.kill('SIGINT');
      const stopped = await done;
      expect(stopped.code).to.equal(130);
      expect(stopped.stderr).to.contain('interrupted by SIGINT');
      const [last] = await asJson<Array<{ status: string; reason: string }>>(alice, ['history', 'big2', '--limit', '1']);
      expect(last.status).to.equal('failed');
      expect(last.reason).to.contain('interrupted by SIGINT');
      await until('the worker to end', () => workersOf(service!.pid, alice.uid).length === 0, 20_000);
      const again = await as(alice, ['run', 'big2', '--json']);
      expect(again.code, again.stderr).to.equal(0);
    });

    it("never overlaps two runs of a task: the second is refused (exit 4) or waits with --wait; the task's before command runs as its owner", async () => {
      const go = dir('go-held');
      const uidFile = path.join(dir('alice-out'), 'before-uid');
      // The before command holds the run until the test lets it go.
      const hold = `id -u > ${uidFile}; while [ ! -e ${go} ]; do sleep 0.05; done`;
      ownedFolder(dir('held-repo'), alice);
      const created = await as(alice, ['task', 'create', 'held', '--source', dir('alice-src'), '--dest', `local:${dir('held-repo')}`, '--no-encryption', '--before', hold]);
      expect(created.code, created.stderr).to.equal(0);
      const first = as(alice, ['run', 'held', '--json']);
      await until('the before command to run', () => existsSync(uidFile));
      expect(readFileSync(uidFile, 'utf8').trim()).to.equal(String(alice.uid));
      const second = await as(alice, ['run', 'held']);
      expect(second.code).to.equal(4);
      expect(second.stdout).to.contain('skipped').and.contain('is already running');
      const waiting = as(alice, ['run', 'held', '--wait', '--json']);
      await new Promise((r) => setTimeout(r, 1500));
      writeFileSync(go, '');
      const [one, two] = await Promise.all([first, waiting]);
      expect([one.code, two.code], one.stderr + two.stderr).to.deep.equal([3, 3]);
      expect(Date.parse(JSON.parse(two.stdout).startedAt)).to.be.at.least(Date.parse(JSON.parse(one.stdout).finishedAt));
    });

    // Last: it stops the service.
    it('runs tasks by themselves on their schedule, as their owner, and lists when they run next', async () => {
      await until('a scheduled run of "minutely"', () => {
        const file = path.join(haven.env.HAVEN_HOME!, 'tasks.json');
        const id = JSON.parse(readFileSync(file, 'utf8')).tasks.find((t: { name: string }) => t.name === 'minutely').id;
        const dirOf = path.join(haven.env.HAVEN_HOME!, 'history');
        if (!existsSync(dirOf)) return false;
        return readdirSync(dirOf).some((f) => {
          const r = JSON.parse(readFileSync(path.join(dirOf, f), 'utf8'));
          return r.taskId === id && r.trigger === 'schedule' && r.status !== 'running';
        });
      }, 90_000);
      const [run] = await asJson<Array<{ trigger: string; status: string; startedBy: string }>>(bob, ['history', 'minutely', '--limit', '1']);
      expect([run.trigger, run.status, run.startedBy]).to.deep.equal(['schedule', 'success', bob.name]);
      expect(statSync(path.join(dir('bob-minutely-repo'), 'config')).uid).to.equal(bob.uid);
      const listing = await asJson<{ schedulerRunning: boolean; tasks: Array<{ name: string; next: string | null }> }>(bob, ['schedule']);
      expect(listing.schedulerRunning).to.equal(true);
      const next = Date.parse(listing.tasks.find((t) => t.name === 'minutely')!.next!);
      expect(next - Date.now()).to.be.within(-5_000, 61_000);
      expect(listing.tasks.map((t) => t.name)).to.not.include('a-docs');
    });

    it("starts on-connect tasks when a plugin asks (PluginContext.runs), as their owner", async () => {
      ownedFolder(dir('bob-usb-repo'), bob);
      const created = await as(bob, ['task', 'create', 'usb', '--source', dir('bob-src'), '--dest', `local:${dir('bob-usb-repo')}`, '--no-encryption', '--schedule', 'on-connect']);
      expect(created.code, created.stderr).to.equal(0);
      const flagDir = path.join(haven.env.HAVEN_HOME!, 'plugin-data', 'connect-trigger');
      mkdirSync(flagDir, { recursive: true });
      writeFileSync(path.join(flagDir, 'connected'), '');
      await until('the on-connect run', () => existsSync(path.join(dir('bob-usb-repo'), 'config')) && !existsSync(path.join(flagDir, 'connected')), 30_000);
      await until('its record', () => service!.log().includes('plugin connect-trigger: test drive connected: starting'), 10_000);
      let last: { trigger: string; status: string } | undefined;
      for (let i = 0; i < 100 && last?.status !== 'success'; i++) {
        [last] = await asJson<Array<{ trigger: string; status: string }>>(bob, ['history', 'usb', '--limit', '1']);
        if (last?.status !== 'success') await new Promise((r) => setTimeout(r, 200));
      }
      expect([last!.trigger, last!.status]).to.deep.equal(['on-connect', 'success']);
      expect(statSync(path.join(dir('bob-usb-repo'), 'config')).uid).to.equal(bob.uid);
    });

    it('stops on SIGTERM: a running run is cancelled and recorded, its worker ends, the service exits 0', async () => {
      await bigTask('big3');
      const { done } = await startRun('big3');
      const code = await service!.stop();
      expect(code).to.equal(0);
      const stopped = await done;
      expect(stopped.code).to.equal(130);
      expect(stopped.stdout).to.contain('service stopped');
      expect(workersOf(service!.pid, alice.uid)).to.deep.equal([]);
      // The service is gone (its socket with it): root reads its state directly.
      expect(existsSync(service!.socket)).to.equal(false);
      const [last] = await haven.json<Array<{ status: string; reason: string }>>(['history', 'big3', '--limit', '1']);
      expect(last.status).to.equal('failed');
      expect(last.reason).to.contain('service stopped');
    });
  });

  it('answers exactly as personal mode does: output, messages and exit codes', async () => {
    const home = ownedFolder(dir('alice-personal-mode'), alice);
    const personal = (args: string[]) => haven.run(args, { user: alice, env: { HAVEN_SOCKET: dir('no-service-here.sock'), HAVEN_HOME: home } });
    const system = (args: string[]) => as(alice, args);
    const cases = [
      ['task', 'show', 'nope'],
      ['run', 'nope'],
      ['task', 'create', 'x', '--source', '/nonexistent-source', '--dest', 'local:/tmp/x', '--no-encryption'],
      ['task', 'create', 'x', '--source', dir('alice-src'), '--dest', 'bogus:/x', '--no-encryption'],
      ['task', 'create', 'x', '--source', dir('alice-src'), '--dest', 'local:relative/x', '--password-file', dir('alice-src'), '--no-encryption'],
      ['history', 'nope', '--json'],
    ];
    for (const args of cases) {
      const [p, s] = [await personal(args), await system(args)];
      expect([s.code, s.stdout, s.stderr], args.join(' ')).to.deep.equal([p.code, p.stdout, p.stderr]);
      expect(p.code, args.join(' ')).to.not.equal(0);
    }
    // The same task, run in each mode: the same record (but for ids, times and places).
    ownedFolder(dir('alice-repo-personal'), alice);
    ownedFolder(dir('alice-repo-system'), alice);
    const record = async (mode: typeof personal, repo: string) => {
      const created = await mode(['task', 'create', 'twin', '--source', dir('alice-src'), '--dest', `local:${dir(repo)}`, '--no-encryption']);
      expect(created.code, created.stderr).to.equal(0);
      const run = await mode(['run', 'twin', '--json']);
      const r = JSON.parse(run.stdout);
      return { code: run.code, keys: Object.keys(r).sort(), status: r.status, files: r.files, errors: r.errors, stderr: run.stderr };
    };
    expect(await record(system, 'alice-repo-system')).to.deep.equal(await record(personal, 'alice-repo-personal'));
  });

  it('sees plugins installed, removed, disabled and enabled while it runs', async () => {
    const ids = async (user: OsUser) => (await asJson<Array<{ id: string; state: string }>>(user, ['plugins', 'list'])).map((p) => `${p.id}:${p.state}`);
    expect(await ids(alice)).to.not.include('example-dir:ready');
    const installed = await haven.run(['plugins', 'install', path.join(FIXTURE_PLUGINS, 'example-dir'), '--system']);
    expect(installed.code, installed.stderr).to.equal(0);
    expect(await ids(alice)).to.include('example-dir:ready');
    const off = await as(admin, ['plugins', 'disable', 'example-dir']);
    expect(off.code, off.stderr).to.equal(0);
    expect(await ids(bob)).to.include('example-dir:disabled');
    expect((await as(bob, ['plugins', 'enable', 'example-dir'])).code).to.equal(5);
    expect((await as(admin, ['plugins', 'enable', 'example-dir'])).code).to.equal(0);
    const removed = await haven.run(['plugins', 'uninstall', 'example-dir', '--system']);
    expect(removed.code, removed.stderr).to.equal(0);
    expect((await ids(alice)).some((p) => p.startsWith('example-dir:'))).to.equal(false);
  });

  it('serves one user alone with "haven service --user": their commands go through it, into their own state', async () => {
    const runtime = ownedFolder(dir('alice-runtime'), alice);
    const home = dir(`personal-${alice.name}`);
    const env = { HAVEN_SOCKET: path.join(runtime, 'haven', 'haven.sock'), HAVEN_HOME: home };
    const own = await startService(haven, { args: ['--user'], user: alice, env });
    try {
      const created = await haven.run(['task', 'create', 'mine', '--source', dir('alice-src'), '--dest', `local:${dir('alice-repo')}`, '--no-encryption'], { user: alice, env });
      expect(created.code, created.stderr).to.equal(0);
      expect(own.log()).to.contain(`${alice.name} (uid ${alice.uid}, pid `).and.contain('task.create');
      const store = statSync(path.join(home, 'tasks.json'));
      expect(store.uid).to.equal(alice.uid);
      expect(statSync(env.HAVEN_SOCKET).mode & 0o777).to.equal(0o600);
      // Nobody else reaches it.
      const node = nodeAs(bob);
      const probe = spawn(node[0], [...node.slice(1), '-e', `require('node:net').connect(process.argv[1]).on('error', (e) => { console.log(e.code); }).on('connect', () => console.log('connected'))`, env.HAVEN_SOCKET]);
      let said = '';
      probe.stdout.on('data', (d) => (said += d));
      await new Promise((resolve) => probe.on('close', resolve));
      expect(said.trim()).to.equal('EACCES');
    } finally {
      expect(await own.stop()).to.equal(0);
    }
  });

  it('on SIGTERM lets a running backup finish within the grace period, then exits 0', async () => {
    const runtime = ownedFolder(dir('alice-runtime-grace'), alice);
    const home = ownedFolder(dir('alice-grace-home'), alice);
    const env = { HAVEN_SOCKET: path.join(runtime, 'haven', 'haven.sock'), HAVEN_HOME: home };
    const own = await startService(haven, { args: ['--user', '--grace', '60'], user: alice, env });
    const go = path.join(runtime, 'go');
    const started = path.join(runtime, 'started');
    ownedFolder(dir('grace-repo'), alice);
    const created = await haven.run(['task', 'create', 'graceful', '--source', dir('alice-src'), '--dest', `local:${dir('grace-repo')}`, '--no-encryption',
      '--before', `touch ${started}; while [ ! -e ${go} ]; do sleep 0.05; done`], { user: alice, env });
    expect(created.code, created.stderr).to.equal(0);
    const run = haven.run(['run', 'graceful', '--json'], { user: alice, env });
    await until('the run to start', () => existsSync(started));
    const stopped = own.stop();
    await new Promise((r) => setTimeout(r, 1000));
    expect(own.log()).to.contain('SIGTERM: stopping');
    writeFileSync(go, '');
    const finished = await run;
    expect(finished.code, finished.stderr).to.equal(3); // partial: bob's file in alice's folder
    expect(JSON.parse(finished.stdout).snapshot).to.match(/^[0-9a-f]{64}$/);
    expect(await stopped).to.equal(0);
  });

  it('keeps every change when two clients edit one task at once', async () => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([
        as(alice, ['task', 'edit', 'a-docs', '--exclude', `*.r${round}`]),
        as(alice, ['task', 'edit', 'a-docs', '--keep-last', String(round + 2)]),
        as(alice, ['task', 'edit', 'a-docs', '--schedule', `daily 0${round}:30`]),
      ]);
      for (const r of results) expect(r.code, r.stderr).to.equal(0);
      const task = await asJson<{ excludes: string[]; retention: { keepLast?: number }; schedule: string }>(alice, ['task', 'show', 'a-docs']);
      expect([task.excludes, task.retention.keepLast, task.schedule]).to.deep.equal([[`*.r${round}`], round + 2, `daily 0${round}:30`]);
    }
  });

  it('starts only as root, and never takes over the socket of a running service', async () => {
    const asUser = await haven.run(['service'], { user: alice });
    expect(asUser.code).to.equal(2);
    expect(asUser.stderr).to.contain('must run as root').and.contain('haven service --user');
    const second = await haven.run(['service']);
    expect(second.code).to.equal(2);
    expect(second.stderr).to.contain(`a Haven service is already listening on ${service!.socket}`);
    expect((await as(alice, ['task', 'list'])).code).to.equal(0);
  });
});
