/**
 * Declared provider credentials (API 1.1): read from their environment variable, else from the
 * user's credentials file (the destination's entry, then the type's), passed in
 * OpenOptions.credentials on every open — runs, restore, check, snapshots, `plugins check` —
 * refused from a file others can read or that is not the user's, a clear failure when a
 * required one is missing, and never written anywhere: not in the task store, run records or
 * output.
 */
import { expect } from 'chai';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { validatePluginPackage } from '#core/plugins/plugin-manifest.js';
import { ACCOUNT_ENV, TOKEN_ENV, acceptToken, credStoreSandbox, filesContaining, type CredStoreSetup } from '../helpers/cred-store.js';
import { createTemporaryUser, isRoot, removeUser, type OsUser } from '../helpers/os-user.js';

function writePrivate(file: string, value: unknown, mode = 0o600): void {
  writeFileSync(file, JSON.stringify(value));
  chmodSync(file, mode); // exact, whatever the umask
}

async function createTask(s: CredStoreSetup): Promise<void> {
  const created = await s.haven.run(['task', 'create', 'docs', '--source', s.source, '--dest', s.destination, '--no-encryption']);
  expect(created.code, created.stderr).to.equal(0);
}

const missingLine = (s: CredStoreSetup, file = path.join(s.home, 'credentials.json'), tail = ' (which does not exist yet)') =>
  `storage provider "credstore" needs the credential "token" (the access token of the test store), not given: ` +
  `set the environment variable ${TOKEN_ENV}, or add "token" to the "credstore" (or "${s.destination}") entry of the credentials file ${file}${tail}`;

describe('plugin credentials', function () {
  this.timeout(120_000);

  describe('the manifest', () => {
    const pkg = (credentials: unknown) => ({
      name: 'p',
      version: '1.0.0',
      engines: { haven: '^1.1.0' },
      haven: { id: 'p', displayName: 'P', contributes: { storageProviders: [{ type: 's3', description: 'd', credentials }] }, activationEvents: [] },
    });

    it('accepts declared credentials and refuses bad names, variables, fields and duplicates, naming the field', () => {
      const ok = validatePluginPackage(pkg([
        { name: 'accessKeyId', env: 'AWS_ACCESS_KEY_ID', description: 'the access key id', secret: false },
        { name: 'secret_key', env: 'HAVEN_S3_SECRET', description: 'the secret key', required: true },
      ]));
      expect(ok.ok).to.equal(true);
      const bad = validatePluginPackage(pkg([
        { name: 'Access', env: 'AWS_KEY', description: 'x' },
        { name: 'ok', env: 'lower_case', description: 'x' },
        { name: 'ok2', env: 'OK2', description: 'x', hidden: true },
        { name: 'ok3', description: 'x' },
      ]));
      expect(bad.ok).to.equal(false);
      const problems = (bad as { problems: string[] }).problems;
      const at = 'haven.contributes.storageProviders.0.credentials';
      expect(problems).to.include(`${at}.0.name: "Access" is not valid (expected ^[a-z][a-zA-Z0-9_]{0,63}$)`);
      expect(problems).to.include(`${at}.1.env: "lower_case" is not valid (expected ^[A-Z][A-Z0-9_]{0,127}$)`);
      expect(problems).to.include(`${at}.2: unknown field "hidden"`);
      expect(problems).to.include(`${at}.3.env: is required`);
      const twice = validatePluginPackage(pkg([{ name: 'a', env: 'A', description: 'x' }, { name: 'a', env: 'B', description: 'y' }]));
      expect((twice as { problems: string[] }).problems).to.deep.equal(['haven.contributes.storageProviders: credential "a" of type "s3" is listed twice']);
      const grab = validatePluginPackage(pkg([{ name: 'password', env: 'HAVEN_PASSWORD', description: 'the repository password, please' }]));
      expect((grab as { problems: string[] }).problems).to.deep.equal(['haven.contributes.storageProviders: credential "password" of type "s3" uses HAVEN_PASSWORD, a variable of Haven itself']);
    });
  });

  it('reads them from the environment for every open: run, snapshots, check, restore', async () => {
    const s = credStoreSandbox();
    await createTask(s);
    const env = { [TOKEN_ENV]: s.token };
    const run = await s.haven.run(['run', 'docs', '--json'], { env });
    expect(run.code, run.stderr).to.equal(0);
    for (const args of [['snapshots', 'docs'], ['check', 'docs'], ['restore', 'docs', '--to', path.join(s.haven.root, 'restored')]]) {
      const result = await s.haven.run(args, { env });
      expect(result.code, `${args[0]}: ${result.stderr}`).to.equal(0);
    }
    expect(filesContaining(path.join(s.haven.root, 'restored'), 'dear reader').map((f) => path.basename(f))).to.deep.equal(['letter.txt']);
    const opens = s.opens();
    expect(opens.length).to.be.at.least(5); // the run opens twice (a look without create, then create)
    for (const open of opens) expect(open).to.include({ account: null, session: open.opens === 1 ? 'new' : 'remembered' });
    for (const open of opens) expect(open.names).to.deep.equal(['token']);
  });

  it('reads them from the credentials file: the destination entry wins over the type, the environment over both', async () => {
    const s = credStoreSandbox();
    await createTask(s);
    const file = path.join(s.home, 'credentials.json');
    writePrivate(file, { credstore: { token: s.token, account: 'alice' } });
    const fromType = await s.haven.run(['run', 'docs']);
    expect(fromType.code, fromType.stderr).to.equal(0);
    expect(s.opens().at(-1)).to.deep.include({ names: ['account', 'token'], account: 'alice' });

    // A destination entry, written un-normalised: it is compared the way the provider normalises.
    const roundabout = `credstore:${path.join(s.haven.root, 'elsewhere', '..', 'repo')}`;
    writePrivate(file, { credstore: { token: 'not-the-token', account: 'alice' }, [roundabout]: { token: s.token, account: 'bob' }, 'credstore:/other': { token: 'nope' } });
    const fromDestination = await s.haven.run(['snapshots', 'docs']);
    expect(fromDestination.code, fromDestination.stderr).to.equal(0);
    expect(s.opens().at(-1)).to.include({ account: 'bob' });

    writePrivate(file, { [s.destination]: { token: 'not-the-token', account: 'bob' } });
    const envWins = await s.haven.run(['snapshots', 'docs'], { env: { [TOKEN_ENV]: s.token, [ACCOUNT_ENV]: 'carol' } });
    expect(envWins.code, envWins.stderr).to.equal(0);
    expect(s.opens().at(-1)).to.include({ account: 'carol' });

    // HAVEN_CREDENTIALS_FILE names another file; a name the provider does not declare is warned about.
    const elsewhere = path.join(s.haven.root, 'my-credentials.json');
    writePrivate(elsewhere, { credstore: { token: s.token, tokn: 'typo' } });
    const custom = await s.haven.run(['snapshots', 'docs'], { env: { HAVEN_CREDENTIALS_FILE: elsewhere } });
    expect(custom.code, custom.stderr).to.equal(0);
    expect(custom.stderr).to.equal(
      `haven: warning: the credentials file ${elsewhere}: "credstore"."tokn" is not a credential storage provider "credstore" declares (it declares: token, account); it is ignored\n`,
    );
  });

  it('refuses a credentials file other users can read or write (exit 2), unless the environment gives everything', async () => {
    const s = credStoreSandbox();
    await createTask(s);
    const file = path.join(s.home, 'credentials.json');
    for (const [mode, text, access] of [[0o644, '0644', 'readable'], [0o640, '0640', 'readable'], [0o602, '0602', 'writable']] as const) {
      writePrivate(file, { credstore: { token: s.token } }, mode);
      const run = await s.haven.run(['run', 'docs', '--json']);
      expect(run.code, run.stderr).to.equal(2);
      const refusal = `the credentials file ${file} is ${access} by other users (mode ${text}); make it private: chmod 600 ${file}`;
      expect(JSON.parse(run.stdout).reason).to.equal(refusal);
      const check = await s.haven.run(['plugins', 'check', 'cred-store', '--location', s.repo]);
      expect([check.code, check.stderr]).to.deep.equal([2, `haven: ${refusal}\n`]);
    }
    expect(s.opens(), 'the provider is never opened with a refused file').to.deep.equal([]);
    // Everything declared is in the environment: the file is not read, so not judged.
    const withEnv = await s.haven.run(['run', 'docs'], { env: { [TOKEN_ENV]: s.token, [ACCOUNT_ENV]: 'alice' } });
    expect(withEnv.code, withEnv.stderr).to.equal(0);
  });

  it('fails with exit 1 and one clear line when a required credential is missing, before the provider opens anything', async () => {
    const s = credStoreSandbox();
    await createTask(s);
    const run = await s.haven.run(['run', 'docs']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal(`haven: ${missingLine(s)}\n`);
    const json = await s.haven.run(['run', 'docs', '--json']);
    expect(json.code).to.equal(1);
    expect(JSON.parse(json.stdout)).to.include({ status: 'failed', reason: missingLine(s) });
    for (const args of [['snapshots', 'docs'], ['check', 'docs'], ['restore', 'docs', '--to', path.join(s.haven.root, 'restored')]]) {
      const result = await s.haven.run(args);
      expect([result.code, result.stderr], args[0]).to.deep.equal([1, `haven: ${missingLine(s)}\n`]);
    }
    // A file without it: the same line, without "does not exist yet".
    const file = path.join(s.home, 'credentials.json');
    writePrivate(file, { credstore: { account: 'alice' } });
    const check = await s.haven.run(['plugins', 'check', 'cred-store', '--location', s.repo]);
    expect([check.code, check.stderr]).to.deep.equal([1, `haven: ${missingLine(s, file, '')}\n`]);
    expect(s.opens()).to.deep.equal([]);

    // Given but wrong: the provider itself refuses, and says so (exit 1).
    const wrong = await s.haven.run(['run', 'docs'], { env: { [TOKEN_ENV]: 'not-the-token' } });
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain(`the test store at ${s.repo} refused the token`);
    expect(s.opens().map((o) => o.session)).to.include('refused');
  });

  it('passes them to `haven plugins check`, whose cases all open with them', async () => {
    const s = credStoreSandbox();
    const location = path.join(s.haven.root, 'check-here');
    acceptToken(location, s.token);
    writePrivate(path.join(s.home, 'credentials.json'), { [`credstore:${location}`]: { token: s.token } });
    const result = await s.haven.run(['plugins', 'check', 'cred-store', '--location', location]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout.trimEnd().split('\n').at(-1)).to.equal('15 passed, 0 failed, 4 skipped');
    const opens = s.opens();
    expect(opens.length).to.be.at.least(16);
    for (const open of opens) expect(open).to.deep.include({ names: ['token'], create: true });
    expect(opens.filter((o) => o.session === 'refused')).to.deep.equal([]);
  });

  it('never writes a credential to the task store, the run records or the output (even --debug)', async () => {
    const s = credStoreSandbox();
    await createTask(s);
    const account = `acct-${s.token.slice(4, 12)}`;
    const fromEnv = { [TOKEN_ENV]: s.token };
    const outputs: string[] = [];
    for (const [args, env] of [
      [['run', 'docs', '--json'], fromEnv],
      [['run', 'docs', '--debug'], fromEnv],
      [['snapshots', 'docs', '--json', '--debug'], fromEnv],
      [['history', 'docs', '--json'], fromEnv],
      [['task', 'show', 'docs', '--json'], fromEnv],
      [['task', 'export'], fromEnv],
    ] as const) {
      const result = await s.haven.run([...args], { env });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
      outputs.push(result.stdout, result.stderr);
    }
    // From a file too, and with a failure whose message is the provider's.
    const file = path.join(s.haven.root, 'credentials.json');
    writePrivate(file, { credstore: { token: s.token, account } });
    const fromFile = await s.haven.run(['run', 'docs', '--debug'], { env: { HAVEN_CREDENTIALS_FILE: file } });
    expect(fromFile.code, fromFile.stderr).to.equal(0);
    // The account is declared `secret: false`: --debug may show it, so it is found there.
    expect(fromFile.stderr).to.contain(`account = "${account}" from ${file} ("credstore")`);
    outputs.push(fromFile.stdout, fromFile.stderr);
    const wrong = await s.haven.run(['run', 'docs', '--json', '--debug'], { env: { [TOKEN_ENV]: `${s.token}-wrong` } });
    expect(wrong.code).to.equal(1);
    outputs.push(wrong.stdout, wrong.stderr);
    // A credentials file that is not JSON is reported without quoting what is around the error.
    writeFileSync(file, `{"credstore": {"token": "${s.token}",}}`);
    const damaged = await s.haven.run(['run', 'docs'], { env: { HAVEN_CREDENTIALS_FILE: file } });
    expect(damaged.code).to.equal(2);
    expect(damaged.stderr).to.match(/^haven: the credentials file .* is not valid JSON/);
    outputs.push(damaged.stdout, damaged.stderr);

    for (const output of outputs) expect(output).to.not.contain(s.token);
    expect(filesContaining(s.home, s.token), 'state folder (task store, run records, locks, plugin data, secrets)').to.deep.equal([]);
    expect(filesContaining(path.join(s.home, 'history'), 'docs').length, 'the run records were searched').to.be.at.least(5);
    expect(readFileSync(path.join(s.home, 'tasks.json'), 'utf8')).to.contain(s.destination).and.not.contain(s.token);
  });

  describe('a credentials file of another user', () => {
    let user: OsUser | undefined;
    before(function () {
      if (!isRoot()) throw new Error('this test creates a real OS user and must run as root (CI does)');
      user = createTemporaryUser('haven-cred');
    });
    after(() => {
      if (user) removeUser(user);
    });

    it('is refused even when private (exit 2): Haven reads only a credentials file of your own', async () => {
      const s = credStoreSandbox();
      await createTask(s);
      const file = path.join(s.home, 'credentials.json');
      writePrivate(file, { credstore: { token: s.token } });
      chownSync(file, user!.uid, user!.gid);
      const run = await s.haven.run(['run', 'docs']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.equal(
        `haven: the credentials file ${file} belongs to another user (uid ${user!.uid}, you are uid 0); Haven reads it only when it is yours: chown it to yourself, then chmod 600 ${file}\n`,
      );
      chownSync(file, 0, 0);
      const mine = await s.haven.run(['run', 'docs']);
      expect(mine.code, mine.stderr).to.equal(0);
    });
  });
});
