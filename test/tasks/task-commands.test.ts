/**
 * Task commands through the real CLI: validation with clear errors and exit 2, nothing lost on
 * bad input, secrets kept out of the store, export/import all-or-nothing.
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

interface TaskJson {
  name: string;
  sources: string[];
  destination: string;
  schedule: string;
  retention: Record<string, number>;
  encryption: string;
  passwordFile?: string;
  owner: { name: string } | null;
}

function setup(): { haven: HavenSandbox; source: string; repo: string } {
  const haven = havenSandbox();
  const source = path.join(haven.root, 'documents');
  mkdirSync(source);
  writeFileSync(path.join(source, 'letter.txt'), 'dear reader\n');
  return { haven, source, repo: path.join(haven.root, 'repo') };
}

describe('task commands', () => {
  it('creates, shows, edits, lists and deletes a task', async () => {
    const { haven, source, repo } = setup();
    const created = await haven.json<TaskJson>(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption', '--schedule', 'daily 02:30', '--keep-daily', '7']);
    expect(created).to.include({ name: 'docs', destination: `local:${repo}`, schedule: 'daily 02:30', encryption: 'none' });
    expect(created.retention).to.deep.equal({ keepDaily: 7 });
    expect(created.owner).to.not.equal(null);
    const edited = await haven.json<TaskJson>(['task', 'edit', 'docs', '--schedule', 'weekly mon,fri 21:00', '--keep-last', '3']);
    expect(edited.schedule).to.equal('weekly mon,fri 21:00');
    expect(edited.retention).to.deep.equal({ keepDaily: 7, keepLast: 3 });
    expect(edited.sources).to.deep.equal([source]);
    const shown = await haven.run(['task', 'show', 'docs']);
    expect(shown.stdout).to.contain('weekly mon,fri 21:00').and.contain(source);
    expect((await haven.json<TaskJson[]>(['task', 'list'])).map((t) => t.name)).to.deep.equal(['docs']);
    expect((await haven.run(['task', 'delete', 'docs'])).code).to.equal(0);
    expect(await haven.json<TaskJson[]>(['task', 'list'])).to.deep.equal([]);
  });

  it('refuses the root of the system volume as a source', async () => {
    const { haven, repo } = setup();
    const result = await haven.run(['task', 'create', 'everything', '--source', '/', '--dest', `local:${repo}`, '--no-encryption']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('root of the system volume');
    expect(await haven.json<TaskJson[]>(['task', 'list'])).to.deep.equal([]);
  });

  const badInputs: Array<[string, string[], string]> = [
    ['a missing source', ['--source', '/no/such/folder'], 'source "/no/such/folder" does not exist'],
    ['a bad schedule', ['--schedule', 'sometimes'], 'schedule "sometimes" is not understood'],
    ['a bad time', ['--schedule', 'daily 25:00'], 'expected a time HH:MM'],
    ['a destination without type', ['--dest', '/srv/backup'], 'must be TYPE:LOCATION'],
    ['an unknown destination type', ['--dest', 'tape:/dev/st0'], 'unknown destination type "tape"'],
    ['a negative retention (other than -1, unlimited)', ['--keep-last', '-2'], '--keep-last'],
    ['no password choice', ['--no-such-flag'], "unknown option '--no-such-flag'"],
  ];
  for (const [what, args, message] of badInputs) {
    it(`rejects ${what} with exit 2 and says what is wrong`, async () => {
      const { haven, source, repo } = setup();
      const base = ['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption'];
      // Later options win for single-valued flags; sources accumulate, so replace them.
      const argv = args[0] === '--source' ? ['task', 'create', 'docs', ...args, '--dest', `local:${repo}`, '--no-encryption'] : [...base, ...args];
      const result = await haven.run(argv);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr).to.contain(message);
      expect(await haven.json<TaskJson[]>(['task', 'list'])).to.deep.equal([]);
    });
  }

  it('rejects a duplicate name and a bad name', async () => {
    const { haven, source, repo } = setup();
    const args = ['--source', source, '--dest', `local:${repo}`, '--no-encryption'];
    expect((await haven.run(['task', 'create', 'docs', ...args])).code).to.equal(0);
    const again = await haven.run(['task', 'create', 'docs', ...args]);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.contain('a task named "docs" already exists');
    const bad = await haven.run(['task', 'create', '../etc', ...args]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('task name "../etc" is not valid');
  });

  it('keeps the password out of the task store, storing only the password file path', async () => {
    const { haven, source, repo } = setup();
    const passwordFile = path.join(haven.root, 'pw');
    writeFileSync(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
    const created = await haven.json<TaskJson>(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', passwordFile]);
    expect(created.encryption).to.equal('password');
    expect(created.passwordFile).to.equal(passwordFile);
    const store = readFileSync(path.join(haven.root, 'home', 'tasks.json'), 'utf8');
    expect(store).to.contain(passwordFile).and.not.contain('correct horse');
  });

  it('refuses --password-file together with --no-encryption', async () => {
    const { haven, source, repo } = setup();
    const passwordFile = path.join(haven.root, 'pw');
    writeFileSync(passwordFile, 'pw\n', { mode: 0o600 });
    const result = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--password-file', passwordFile, '--no-encryption']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/cannot be used with|exclude each other/);
  });

  it('reports a damaged task store and leaves it untouched', async () => {
    const { haven, source, repo } = setup();
    const storeFile = path.join(haven.root, 'home', 'tasks.json');
    writeFileSync(storeFile, '{"version":1,"tasks":[{"name":"do');
    for (const argv of [['task', 'list'], ['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']]) {
      const result = await haven.run(argv);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain('is damaged').and.contain('left untouched');
      expect(result.stderr.split('\n').filter((l) => l && !l.includes('warning:'))).to.have.length(1);
    }
    expect(readFileSync(storeFile, 'utf8')).to.equal('{"version":1,"tasks":[{"name":"do');
  });

  it('keeps every task when several are created at once', async () => {
    const { haven, source, repo } = setup();
    const results = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => haven.run(['task', 'create', n, '--source', source, '--dest', `local:${repo}-${n}`, '--no-encryption'])),
    );
    for (const r of results) expect(r.code, r.stderr).to.equal(0);
    expect((await haven.json<TaskJson[]>(['task', 'list'])).map((t) => t.name).sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('warns when the destination is on the same drive as a source', async () => {
    const { haven, source, repo } = setup();
    const result = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption']);
    expect(result.code).to.equal(0);
    expect(result.stderr).to.contain('same drive').and.contain('removable drive or online storage is recommended');
  });

  it('exports tasks and imports them elsewhere, all or none', async () => {
    const { haven, source, repo } = setup();
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, '--no-encryption', '--schedule', 'hourly']);
    const exported = await haven.run(['task', 'export']);
    expect(exported.code).to.equal(0);
    const file = path.join(haven.root, 'tasks-export.json');
    writeFileSync(file, exported.stdout);

    const other = havenSandbox();
    const imported = await other.json<TaskJson[]>(['task', 'import', file]);
    expect(imported.map((t) => [t.name, t.schedule, t.destination])).to.deep.equal([['docs', 'hourly', `local:${repo}`]]);

    // One bad task in a file: nothing is imported.
    const doc = JSON.parse(exported.stdout);
    doc.tasks.push({ ...doc.tasks[0], name: 'broken', schedule: 'now and then' });
    doc.tasks[0].name = 'fine';
    writeFileSync(file, JSON.stringify(doc));
    const third = havenSandbox();
    const result = await third.run(['task', 'import', file]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('tasks[1] ("broken")').and.contain('not understood');
    expect(await third.json<TaskJson[]>(['task', 'list'])).to.deep.equal([]);
  });
});
