/**
 * A task's own commands around its runs (--before, --after, --notify-command), in personal
 * mode through the real CLI. (In system mode they run as the task's owner: system-service.test.)
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox } from '../helpers/haven-cli.js';

describe('task commands (--before, --after, --notify-command)', function () {
  this.timeout(120_000);

  function setup() {
    const haven = havenSandbox();
    const source = path.join(haven.root, 'docs');
    mkdirSync(source);
    writeFileSync(path.join(source, 'a.txt'), 'a\n');
    const out = (name: string) => path.join(haven.root, name);
    return { haven, source, out };
  }

  it('fails the run before reading anything when the before command fails, and tells the notify command with the record on stdin', async () => {
    const { haven, source, out } = setup();
    const created = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${out('repo')}`, '--no-encryption',
      '--before', 'echo "the disk is not mounted" >&2; exit 3', '--notify-command', `cat > ${out('notified.json')}`]);
    expect(created.code, created.stderr).to.equal(0);
    const run = await haven.run(['run', 'docs', '--json']);
    expect(run.code).to.equal(1);
    const record = JSON.parse(run.stdout);
    expect(record.status).to.equal('failed');
    expect(record.reason).to.equal("the task's before command failed (exit 3: the disk is not mounted); nothing was backed up");
    expect(record.snapshot).to.equal(null);
    expect(existsSync(path.join(out('repo'), 'config'))).to.equal(false);
    const notified = JSON.parse(readFileSync(out('notified.json'), 'utf8'));
    expect([notified.id, notified.status, notified.reason]).to.deep.equal([record.id, 'failed', record.reason]);
  });

  it('runs the after command with the run status; its failure is a warning on a run that succeeded; no notification', async () => {
    const { haven, source, out } = setup();
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${out('repo')}`, '--no-encryption',
      '--before', `echo "$HAVEN_TASK $HAVEN_TRIGGER" > ${out('before.txt')}`,
      '--after', `echo "$HAVEN_RUN_STATUS $HAVEN_RUN_ID" > ${out('after.txt')}; exit 1`,
      '--notify-command', `touch ${out('notified')}`]);
    const run = await haven.run(['run', 'docs', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const record = JSON.parse(run.stdout);
    expect(record.status).to.equal('success');
    expect(readFileSync(out('before.txt'), 'utf8')).to.equal('docs manual\n');
    expect(readFileSync(out('after.txt'), 'utf8')).to.equal(`success ${record.id}\n`);
    expect(record.warnings).to.deep.equal(['after command failed (exit 1)']);
    expect(existsSync(out('notified'))).to.equal(false);
  });

  it('shows the commands, and an empty text removes one', async () => {
    const { haven, source, out } = setup();
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${out('repo')}`, '--no-encryption', '--before', 'true', '--after', 'true']);
    expect((await haven.run(['task', 'show', 'docs'])).stdout).to.contain('before:       true').and.contain('after:        true');
    const edited = await haven.json<{ commands?: Record<string, string> }>(['task', 'edit', 'docs', '--before', '']);
    expect(edited.commands).to.deep.equal({ after: 'true' });
  });
});
