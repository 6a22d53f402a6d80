/**
 * A password file other users can read is refused with the reason and the fix, like ssh does
 * with a private key: when a task is created, edited or imported, and when a run reads it.
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

function setup(): { haven: HavenSandbox; source: string; repo: string; pw: string } {
  const haven = havenSandbox();
  const source = path.join(haven.root, 'documents');
  mkdirSync(source);
  writeFileSync(path.join(source, 'letter.txt'), 'dear reader\n');
  const pw = path.join(haven.root, 'pw');
  writeFileSync(pw, 'a long passphrase\n', { mode: 0o600 });
  return { haven, source, repo: path.join(haven.root, 'repo'), pw };
}

const refusal = (file: string, mode: string, access = 'readable') =>
  `the password file ${file} is ${access} by other users (mode ${mode}); make it private: chmod 600 ${file}`;

describe('password file rights', () => {
  it('refuses at task create a password file readable or writable by other users, and accepts it once private', async () => {
    const { haven, source, repo, pw } = setup();
    for (const [mode, text, access] of [[0o644, '0644', 'readable'], [0o640, '0640', 'readable'], [0o604, '0604', 'readable'], [0o620, '0620', 'writable']] as const) {
      chmodSync(pw, mode);
      const result = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', pw]);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr).to.contain(refusal(pw, text, access));
    }
    expect((await haven.json<unknown[]>(['task', 'list'])).length).to.equal(0);
    chmodSync(pw, 0o400);
    const created = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', pw]);
    expect(created.code, created.stderr).to.equal(0);
  });

  it('refuses such a file at task edit and task import too', async () => {
    const { haven, source, repo, pw } = setup();
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', pw]);
    const exported = path.join(haven.root, 'tasks-export.json');
    writeFileSync(exported, (await haven.run(['task', 'export', 'docs'])).stdout);
    const other = path.join(haven.root, 'pw-other');
    writeFileSync(other, 'another passphrase\n', { mode: 0o644 });
    chmodSync(other, 0o644); // whatever the umask
    const edit = await haven.run(['task', 'edit', 'docs', '--password-file', other]);
    expect(edit.code, edit.stderr).to.equal(2);
    expect(edit.stderr).to.contain(refusal(other, '0644'));

    chmodSync(pw, 0o644);
    const elsewhere = havenSandbox();
    const imported = await elsewhere.run(['task', 'import', exported]);
    expect(imported.code, imported.stderr).to.equal(2);
    expect(imported.stderr).to.contain(refusal(pw, '0644'));
  });

  it('refuses to run with a password file made readable by others after the task was created', async () => {
    const { haven, source, repo, pw } = setup();
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', pw]);
    const first = await haven.run(['run', 'docs', '--json']);
    expect(first.code, first.stderr).to.equal(0);

    chmodSync(pw, 0o644);
    const run = await haven.run(['run', 'docs', '--json']);
    expect(run.code, run.stderr).to.equal(2);
    expect(JSON.parse(run.stdout).reason).to.equal(refusal(pw, '0644'));
    const plain = await haven.run(['run', 'docs']);
    expect(plain.code).to.equal(2);
    expect(plain.stderr).to.contain(refusal(pw, '0644'));
    const restore = await haven.run(['restore', 'docs', '--to', path.join(haven.root, 'restored')]);
    expect(restore.code, restore.stderr).to.equal(2);
    expect(restore.stderr).to.contain(refusal(pw, '0644'));

    // HAVEN_PASSWORD overrides the file, so the file is not read (nor judged) then.
    const withEnv = await haven.run(['run', 'docs', '--json'], { env: { HAVEN_PASSWORD: 'a long passphrase' } });
    expect(withEnv.code, withEnv.stderr).to.equal(0);
  });
});
