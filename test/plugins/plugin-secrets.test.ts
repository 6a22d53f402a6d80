/**
 * A plugin's own state (API 1.1): `context.storagePath`, a private folder per plugin, and
 * `context.secrets`, a per-user store kept encrypted at rest in 0600 files, namespaced by
 * plugin id, safe with several processes writing at once, refused when its files are not
 * private, and unreadable by another OS user. Through the real CLI and the cred-store fixture
 * (which keeps a session in its secrets and finds it again in a later process), and through
 * the store itself in separate processes.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, tempDir } from '../helpers/haven-cli.js';
import { TOKEN_ENV, credStoreSandbox, filesContaining, type CredStoreSetup } from '../helpers/cred-store.js';
import { createTemporaryUser, isRoot, makeTraversable, removeUser, type OsUser } from '../helpers/os-user.js';

const execFileP = promisify(execFile);
const mode = (file: string) => (statSync(file).mode & 0o7777).toString(8).padStart(4, '0');

/**
 * A node process that uses the secret store of the state folder `home` directly, as plugin
 * `plugin`: `set NAME=VALUE...`, `get NAME...`, `delete NAME`. Prints what `get` found as JSON
 * (one value, or an array for several names; null for a name not there).
 */
const STORE_SCRIPT = `
import { resolveHavenPaths } from ${JSON.stringify(path.join(REPO_ROOT, 'core', 'dist', 'config', 'haven-paths.js'))};
import { SecretStore } from ${JSON.stringify(path.join(REPO_ROOT, 'core', 'dist', 'secrets', 'secret-store.js'))};
import { pluginSecrets } from ${JSON.stringify(path.join(REPO_ROOT, 'core', 'dist', 'plugins', 'plugin-state.js'))};
const [home, plugin, verb, ...args] = process.argv.slice(2);
const secrets = pluginSecrets(new SecretStore(resolveHavenPaths({ HAVEN_HOME: home }, process.getuid())), plugin);
try {
  if (verb === 'set') for (const pair of args) { const at = pair.indexOf('='); await secrets.set(pair.slice(0, at), pair.slice(at + 1)); }
  if (verb === 'get') {
    const found = [];
    for (const name of args) found.push((await secrets.get(name)) ?? null);
    process.stdout.write(JSON.stringify(found.length === 1 ? found[0] : found));
  }
  if (verb === 'delete') await secrets.delete(args[0]);
} catch (err) {
  process.stderr.write(err.message);
  process.exitCode = 1;
}
`;

let scriptFile: string | undefined;
async function store(home: string, plugin: string, verb: 'set' | 'get' | 'delete', args: string[], user?: OsUser): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!scriptFile) {
    scriptFile = path.join(tempDir('haven-secrets-script-'), 'store.mjs');
    writeFileSync(scriptFile, STORE_SCRIPT);
    chmodSync(path.dirname(scriptFile), 0o755);
  }
  const command = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', process.execPath] : [process.execPath];
  try {
    const { stdout, stderr } = await execFileP(command[0], [...command.slice(1), scriptFile, home, plugin, verb, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function backup(s: CredStoreSetup, options: { umask?: number; user?: OsUser } = {}): Promise<void> {
  const created = await s.haven.run(['task', 'create', 'docs', '--source', s.source, '--dest', s.destination, '--no-encryption'], options);
  expect(created.code, created.stderr).to.equal(0);
  const run = await s.haven.run(['run', 'docs'], { ...options, env: { [TOKEN_ENV]: s.token } });
  expect(run.code, run.stderr).to.equal(0);
}

describe('plugin state and secrets', function () {
  this.timeout(120_000);

  it('keeps a secret across processes, encrypted in 0600 files, and a 0700 folder per plugin (even under umask 000)', async () => {
    const s = credStoreSandbox();
    await backup(s, { umask: 0o000 });
    const later = await s.haven.run(['snapshots', 'docs'], { env: { [TOKEN_ENV]: s.token }, umask: 0o000 });
    expect(later.code, later.stderr).to.equal(0);
    const opens = s.opens();
    expect(opens[0].session).to.equal('new');
    expect(opens.at(-1)).to.include({ session: 'remembered', storagePath: path.join(s.home, 'plugin-data', 'cred-store') });

    const secretsFile = path.join(s.home, 'plugin-secrets.json');
    const keyFile = path.join(s.home, 'plugin-secrets.key');
    expect([mode(secretsFile), mode(keyFile)]).to.deep.equal(['0600', '0600']);
    expect([mode(path.join(s.home, 'plugin-data')), mode(path.join(s.home, 'plugin-data', 'cred-store'))]).to.deep.equal(['0700', '0700']);
    expect(readFileSync(path.join(s.home, 'plugin-data', 'cred-store', 'opens'), 'utf8')).to.equal(String(opens.length));

    // Not plaintext: neither the session (which holds the token) nor the plugin's id or the name.
    const text = readFileSync(secretsFile, 'utf8');
    for (const plain of [s.token, 'session-of-', 'cred-store', 'session']) expect(text).to.not.contain(plain);
    const sealed = Buffer.from(JSON.parse(text).sealed, 'base64');
    expect(sealed.includes(s.token)).to.equal(false);
    expect(JSON.parse(text)).to.include({ format: 'haven-plugin-secrets', version: 1, cipher: 'aes-256-gcm' });
    expect(filesContaining(s.home, s.token)).to.deep.equal([]);
    // Only the plugin that uses them gets a folder; the built-in local plugin left none.
    expect(readdirSync(path.join(s.home, 'plugin-data'))).to.deep.equal(['cred-store']);
  });

  it('namespaces secrets by plugin id and deletes them', async () => {
    const home = path.join(tempDir(), 'home');
    expect((await store(home, 'one', 'set', ['token=of-one', 'other=x'])).code).to.equal(0);
    expect((await store(home, 'two', 'set', ['token=of-two'])).code).to.equal(0);
    expect((await store(home, 'one', 'get', ['token'])).stdout).to.equal('"of-one"');
    expect((await store(home, 'two', 'get', ['token'])).stdout).to.equal('"of-two"');
    expect((await store(home, 'two', 'get', ['other'])).stdout).to.equal('null');
    // Names that are also property names of every JS object are just names.
    expect((await store(home, 'two', 'get', ['constructor'])).stdout).to.equal('null');
    expect((await store(home, 'two', 'set', ['__proto__=p'])).code).to.equal(0);
    expect((await store(home, 'two', 'get', ['__proto__'])).stdout).to.equal('"p"');
    expect((await store(home, 'one', 'delete', ['token'])).code).to.equal(0);
    expect((await store(home, 'one', 'delete', ['never-set'])).code).to.equal(0);
    expect((await store(home, 'one', 'get', ['token'])).stdout).to.equal('null');
    expect((await store(home, 'two', 'get', ['token'])).stdout).to.equal('"of-two"');
    const bad = await store(home, 'one', 'set', ['a/b=x']);
    expect([bad.code, bad.stderr]).to.deep.equal([1, 'plugin "one": a secret name is 1 to 128 characters of A-Z a-z 0-9 . _ - (got "a/b")']);
    // get on a store that does not exist yet creates nothing.
    const fresh = path.join(tempDir(), 'home');
    expect((await store(fresh, 'one', 'get', ['token'])).stdout).to.equal('null');
    expect(() => statSync(fresh)).to.throw(/ENOENT/);
  });

  it('loses no write when several processes store secrets at once', async () => {
    const home = path.join(tempDir(), 'home');
    const writers = 4;
    const each = 12;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, w) => store(home, `plugin-${w % 2}`, 'set', Array.from({ length: each }, (__, i) => `w${w}-n${i}=value-${w}-${i}`))),
    );
    for (const r of results) expect(r.code, r.stderr).to.equal(0);
    // Every write of every writer is there.
    for (let w = 0; w < writers; w++) {
      const names = Array.from({ length: each }, (_, i) => `w${w}-n${i}`);
      const found = await store(home, `plugin-${w % 2}`, 'get', names);
      expect(JSON.parse(found.stdout), `writer ${w}`).to.deep.equal(names.map((_, i) => `value-${w}-${i}`));
    }
    expect(readdirSync(home).filter((n) => n.includes('.tmp'))).to.deep.equal([]);
  });

  it('refuses secret files others can read, and secrets whose key is gone, leaving them as they are', async () => {
    const s = credStoreSandbox();
    await backup(s);
    const secretsFile = path.join(s.home, 'plugin-secrets.json');
    const keyFile = path.join(s.home, 'plugin-secrets.key');
    const before = readFileSync(secretsFile);
    const env = { [TOKEN_ENV]: s.token };

    chmodSync(secretsFile, 0o644);
    const open = await s.haven.run(['run', 'docs', '--json'], { env });
    expect(open.code).to.equal(2);
    expect(JSON.parse(open.stdout).reason).to.equal(`the plugin secrets file ${secretsFile} is readable by other users (mode 0644); make it private: chmod 600 ${secretsFile}`);
    chmodSync(secretsFile, 0o600);
    chmodSync(keyFile, 0o640);
    const key = await s.haven.run(['snapshots', 'docs'], { env });
    expect([key.code, key.stderr]).to.deep.equal([2, `haven: the plugin secrets key file ${keyFile} is readable by other users (mode 0640); make it private: chmod 600 ${keyFile}\n`]);
    chmodSync(keyFile, 0o600);

    rmSync(keyFile);
    const lost = await s.haven.run(['snapshots', 'docs'], { env });
    expect(lost.code).to.equal(1);
    expect(lost.stderr).to.equal(
      `haven: the plugin secrets file ${secretsFile} is there but its key file ${keyFile} is not, so the secrets cannot be read; ` +
        `restore the key file, or remove ${secretsFile} to start afresh: plugins will ask you to sign in again\n`,
    );
    expect(readFileSync(secretsFile).equals(before), 'the secrets are not sealed over with a new key').to.equal(true);

    // Another key (a copy of someone else's): the secrets do not open, and say what to do.
    writeFileSync(keyFile, Buffer.alloc(32, 7), { mode: 0o600 });
    const other = await s.haven.run(['snapshots', 'docs'], { env });
    expect(other.code).to.equal(1);
    expect(other.stderr).to.contain(`the plugin secrets file ${secretsFile} cannot be decrypted with the key in ${keyFile}`);
  });

  describe('another OS user', () => {
    let user: OsUser | undefined;
    before(function () {
      if (!isRoot()) throw new Error('these tests create a real OS user and must run as root (CI does)');
      user = createTemporaryUser('haven-secr');
      makeTraversable(REPO_ROOT);
    });
    after(() => {
      if (user) removeUser(user);
    });

    it('cannot read them, even where the state folder is open to all; and keeps secrets of its own', async () => {
      const s = credStoreSandbox();
      await backup(s);
      // The worst case: a state folder others may enter and list (the sandbox's is 0755).
      chmodSync(s.haven.root, 0o755);
      chmodSync(s.home, 0o755);
      const secretsFile = path.join(s.home, 'plugin-secrets.json');
      const keyFile = path.join(s.home, 'plugin-secrets.key');
      const as = ['setpriv', `--reuid=${user!.uid}`, `--regid=${user!.gid}`, '--init-groups'];
      for (const file of [secretsFile, keyFile, path.join(s.home, 'plugin-data', 'cred-store', 'opens')]) {
        const cat = await execFileP(as[0], [...as.slice(1), 'cat', file]).then(() => 'read', (err: { stderr: string }) => err.stderr);
        expect(cat, file).to.contain('Permission denied');
      }
      const through = await store(s.home, 'cred-store', 'get', ['session'], user);
      expect([through.code, through.stdout, through.stderr]).to.deep.equal([1, '', `cannot read the plugin secrets file ${secretsFile}: EACCES`]);

      // The same plugin, run by that user in a state folder of theirs: a store of their own.
      const mine = credStoreSandbox();
      chmodSync(mine.haven.root, 0o755);
      await execFileP('chown', ['-R', `${user!.uid}:${user!.gid}`, mine.haven.root]);
      await backup(mine, { user });
      expect(mine.opens()[0].session, 'no session of root').to.equal('new');
      const theirs = path.join(mine.home, 'plugin-secrets.json');
      expect([statSync(theirs).uid, mode(theirs)]).to.deep.equal([user!.uid, '0600']);
      // A secrets file of someone else's is refused even by root, who could read it.
      chownSync(secretsFile, user!.uid, user!.gid);
      const foreign = await s.haven.run(['snapshots', 'docs'], { env: { [TOKEN_ENV]: s.token } });
      expect([foreign.code, foreign.stderr]).to.deep.equal([
        2,
        `haven: the plugin secrets file ${secretsFile} belongs to another user (uid ${user!.uid}, you are uid 0); Haven reads it only when it is yours: chown it to yourself, then chmod 600 ${secretsFile}\n`,
      ]);
      chownSync(secretsFile, 0, 0);
    });
  });
});
