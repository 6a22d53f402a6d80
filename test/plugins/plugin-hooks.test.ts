/**
 * Hooks as a plugin sees them: a schedule tap vetoes a run (recorded as skipped with the
 * reason, exit 4); a tap that throws is recorded and skipped; authorization fails closed.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_PLUGINS, havenSandbox } from '../helpers/haven-cli.js';
import { createHookSet } from '#core/hooks/hook-set.js';
import { createPluginHooks, type TapFailure } from '#core/hooks/plugin-hooks.js';
import type { Disposable } from '@haven/plugin-api';

describe('plugin hooks', () => {
  it('lets a schedule tap veto a run, which is recorded as skipped with the reason', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: path.join(FIXTURE_PLUGINS, 'vetoer') });
    const source = path.join(haven.root, 'src');
    mkdirSync(source);
    writeFileSync(path.join(source, 'f'), 'x');
    await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${path.join(haven.root, 'repo')}`, '--no-encryption']);
    const result = await haven.run(['run', 'docs', '--json'], { env: { HAVEN_TEST_VETO: 'drive not connected' } });
    expect(result.code).to.equal(4);
    const record = JSON.parse(result.stdout);
    expect(record.status).to.equal('skipped');
    expect(record.reason).to.equal('run vetoed by vetoer: drive not connected (task docs)');
    const history = await haven.json<Array<{ status: string; reason: string }>>(['history']);
    expect(history[0].reason).to.contain('drive not connected');
  });

  it('records a throwing tap as the plugin failure and goes on; authorization fails closed', async () => {
    const hooks = createHookSet();
    const failures: TapFailure[] = [];
    const taps: Disposable[] = [];
    const plugin = createPluginHooks(hooks, 'broken', failures, (d) => taps.push(d));
    plugin.schedule.shouldStartRun.tap(() => {
      throw new Error('boom');
    });
    plugin.authorize.shouldDeny.tap(() => {
      throw new Error('lost my rules');
    });
    const request = { taskId: 't', task: 't', trigger: 'manual' as const, destination: { type: 'local', location: '/x' } };
    expect(await hooks.schedule.shouldStartRun.promise(request)).to.equal(undefined);
    const veto = await hooks.authorize.shouldDeny.promise({ action: 'restore', user: { uid: 1, name: 'u', isAdmin: false } });
    expect(veto).to.deep.equal({ by: 'broken', reason: 'authorization check failed: lost my rules' });
    expect(failures.map((f) => [f.pluginId, f.hook, f.message])).to.deep.equal([
      ['broken', 'schedule.shouldStartRun', 'boom'],
      ['broken', 'authorize.shouldDeny', 'lost my rules'],
    ]);
    // Disposing the taps removes them from the hooks.
    for (const d of taps) d.dispose();
    expect(hooks.authorize.shouldDeny.isUsed()).to.equal(false);
    expect(await hooks.authorize.shouldDeny.promise({ action: 'restore', user: { uid: 1, name: 'u', isAdmin: false } })).to.equal(undefined);
  });

  it('tags every tap with the plugin id and orders taps by stage', async () => {
    const hooks = createHookSet();
    const order: string[] = [];
    const a = createPluginHooks(hooks, 'late-plugin', [], () => undefined);
    const b = createPluginHooks(hooks, 'early-plugin', [], () => undefined);
    a.scan.claimSource.tap(() => { order.push('late'); return undefined; }, { stage: 100 });
    b.scan.claimSource.tap(() => { order.push('early'); return { handler: 'early-plugin' }; }, { stage: -100 });
    const claim = await hooks.scan.claimSource.promise('/home/me/OneDrive');
    expect(claim).to.deep.equal({ handler: 'early-plugin' });
    expect(order).to.deep.equal(['early']);
    expect(hooks.scan.claimSource.taps.map((t) => t.name)).to.deep.equal(['early-plugin', 'late-plugin']);
  });
});
