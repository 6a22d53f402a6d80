/**
 * The authorization hook is asked inside the services, once per operation and for that
 * operation's own right — never by the CLI, never twice — and a plugin's denial stops the
 * operation with exit 5 and the plugin's reason, for every kind of operation.
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURE_PLUGINS, havenSandbox } from '../helpers/haven-cli.js';

describe('the authorization hook', function () {
  this.timeout(120_000);
  const haven = havenSandbox({ HAVEN_PLUGIN_PATH: path.join(FIXTURE_PLUGINS, 'auth-recorder') });
  const log = path.join(haven.root, 'auth.log');
  const me = os.userInfo().username;
  const asked = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    writeFileSync(log, '');
    const result = await haven.run(args, { env: { HAVEN_TEST_AUTH_LOG: log, ...env } });
    return { ...result, asked: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
  };

  before(async () => {
    const source = path.join(haven.root, 'docs');
    mkdirSync(source);
    writeFileSync(path.join(source, 'a.txt'), 'alpha\n');
    const created = await haven.run(['task', 'create', 'docs', '--source', source, '--dest', `local:${path.join(haven.root, 'repo')}`, '--no-encryption']);
    expect(created.code, created.stderr).to.equal(0);
  });

  const once: Array<[string[], string]> = [
    [['run', 'docs'], 'task.run'],
    [['snapshots', 'docs'], 'task.read'],
    [['ls', 'docs'], 'task.read'],
    [['restore', 'docs', '--to', path.join(haven.root, 'restored')], 'restore'],
    [['check', 'docs'], 'task.read'],
    [['unlock', 'docs'], 'task.run'],
    [['repair', 'index', 'docs'], 'task.run'],
    [['task', 'show', 'docs'], 'task.read'],
    [['task', 'edit', 'docs', '--exclude', '*.tmp'], 'task.modify'],
    [['history', 'docs'], 'task.read'],
  ];
  for (const [args, action] of once) {
    it(`asks once, for ${action}, on \`haven ${args.join(' ')}\``, async () => {
      const result = await asked(args);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.asked).to.deep.equal([`${action} ${me}`]);
    });
  }

  const denied = once.filter(([args]) => ['run', 'snapshots', 'restore', 'check'].includes(args[0]) || args[1] === 'edit');
  for (const [args, action] of denied) {
    it(`stops \`haven ${args.join(' ')}\` with exit 5 and the plugin's reason when it denies ${action}`, async () => {
      const result = await asked(args, { HAVEN_TEST_DENY: action });
      expect(result.code).to.equal(5);
      expect(result.stderr).to.contain(`denied by auth-recorder: ${action} is switched off here (test)`);
    });
  }
});
