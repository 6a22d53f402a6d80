/**
 * The plugin host through the real CLI: discovery, validation, engine ranges, conflicts,
 * crash isolation and lazy activation, with tiny fixture plugins on HAVEN_PLUGIN_PATH.
 */
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PLUGIN_API_VERSION } from '@haven/plugin-api';
import { FIXTURE_PLUGINS, havenSandbox } from '../helpers/haven-cli.js';

interface PluginInfo {
  id: string;
  state: string;
  reason?: string;
  dir: string;
  origin: string;
  storageProviders: Array<{ type: string; available: boolean }>;
}

const fixture = (...names: string[]) => names.map((n) => path.join(FIXTURE_PLUGINS, n)).join(':');

describe('plugin host', () => {
  it('lists the five built-in plugins, each from its own package', async () => {
    const haven = havenSandbox();
    const list = await haven.json<PluginInfo[]>(['plugins', 'list']);
    const builtIn = list.filter((p) => p.origin === 'builtin');
    expect(builtIn.map((p) => p.id).sort()).to.deep.equal(['local', 'network', 'onedrive', 'online', 'removable']);
    expect(new Set(builtIn.map((p) => p.dir)).size).to.equal(5);
    for (const p of builtIn) expect(existsSync(path.join(p.dir, 'package.json'))).to.equal(true);
    expect(builtIn.find((p) => p.id === 'local')!.storageProviders).to.deep.equal([
      { type: 'local', description: 'a folder on a local drive, e.g. local:/srv/backup/haven', available: true },
    ]);
  });

  it('finds plugins in the system folder, the user folder and HAVEN_PLUGIN_PATH, in that order', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: fixture('vetoer', 'example-dir') });
    cpSync(path.join(FIXTURE_PLUGINS, 'example-dir'), path.join(haven.root, 'system-plugins', 'example-dir'), { recursive: true });
    cpSync(path.join(FIXTURE_PLUGINS, 'lazy-marker'), path.join(haven.root, 'xdg-data', 'haven', 'plugins', 'lazy-marker'), { recursive: true });
    const list = await haven.json<PluginInfo[]>(['plugins', 'list']);
    const origin = (id: string) => list.filter((p) => p.id === id).map((p) => [p.origin, p.state]);
    expect(origin('example-dir')).to.deep.equal([['system', 'ready'], ['path', 'shadowed']]);
    expect(origin('lazy-marker')).to.deep.equal([['user', 'ready']]);
    expect(origin('vetoer')).to.deep.equal([['path', 'ready']]);
  });

  it('says plainly that a declared-only provider is not available yet', async () => {
    const haven = havenSandbox();
    const info = await haven.run(['plugins', 'info', 'online']);
    expect(info.code).to.equal(0);
    expect(info.stdout).to.contain('NOT AVAILABLE YET');
    const create = await haven.run(['task', 'create', 'cloud', '--source', haven.root, '--dest', 'online:s3://bucket/x', '--no-encryption']);
    expect(create.code).to.equal(2);
    expect(create.stderr).to.contain('storage provider "online" is not available yet');
  });

  it('reports an invalid manifest with the file and fields, and keeps the rest working', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: fixture('bad-manifest') });
    const list = await haven.json<PluginInfo[]>(['plugins', 'list']);
    const bad = list.find((p) => p.dir.endsWith('bad-manifest'))!;
    expect(bad.state).to.equal('invalid');
    expect(bad.reason).to.contain(path.join(FIXTURE_PLUGINS, 'bad-manifest', 'package.json'));
    expect(bad.reason).to.contain('haven.displayName: is required');
    expect(bad.reason).to.contain('unknown field "colour"');
    expect(list.find((p) => p.id === 'local')!.state).to.equal('ready');
  });

  it('refuses a plugin whose engines.haven range does not match, with the reason', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: fixture('future-engine') });
    const info = await haven.json<PluginInfo>(['plugins', 'info', 'future-engine']);
    expect(info.state).to.equal('incompatible');
    expect(info.reason).to.equal(`needs Haven plugin API ^2.0.0, but this Haven provides ${PLUGIN_API_VERSION}`);
    const create = await haven.run(['task', 'create', 'f', '--source', haven.root, '--dest', 'future:/x', '--no-encryption']);
    expect(create.code).to.equal(2);
    expect(create.stderr).to.contain('needs Haven plugin API ^2.0.0');
  });

  it('treats two plugins claiming one provider type as an error naming both', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: fixture('dupe-local') });
    const list = await haven.json<PluginInfo[]>(['plugins', 'list']);
    const dupe = list.find((p) => p.id === 'dupe-local')!;
    expect(dupe.state).to.equal('conflict');
    expect(dupe.reason).to.contain('"local"').and.contain('"dupe-local"').and.contain('storage provider type "local"');
    // The first one found (built-in) keeps working.
    expect(list.find((p) => p.id === 'local')!.state).to.equal('ready');
  });

  it('loads no plugin code for --help or task list, and loads it when its provider is needed', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: fixture('lazy-marker') });
    const marker = path.join(haven.root, 'marker.log');
    const env = { HAVEN_TEST_MARKER: marker };
    expect((await haven.run(['--help'], { env })).code).to.equal(0);
    expect((await haven.run(['task', 'list'], { env })).code).to.equal(0);
    expect((await haven.run(['plugins', 'list'], { env })).code).to.equal(0);
    expect(existsSync(marker), 'plugin code ran for --help, task list or plugins list').to.equal(false);
    const create = await haven.run(['task', 'create', 'm', '--source', haven.root, '--dest', 'marker:somewhere', '--no-encryption'], { env });
    expect(create.code, create.stderr).to.equal(0);
    expect(readFileSync(marker, 'utf8')).to.equal('imported\nactivated\n');
    // Listing tasks still loads nothing, even with a task using the plugin.
    writeFileSync(marker, '');
    expect((await haven.run(['task', 'list'], { env })).code).to.equal(0);
    expect(readFileSync(marker, 'utf8')).to.equal('');
  });

  it('isolates a plugin that throws while loading: reported with its error, the rest keeps working', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: fixture('crash-on-load') });
    const before = await haven.json<PluginInfo[]>(['plugins', 'list']);
    expect(before.find((p) => p.id === 'crash-on-load')!.state).to.equal('ready'); // not loaded yet: lazy
    const create = await haven.run(['task', 'create', 'c', '--source', haven.root, '--dest', 'crashy:/x', '--no-encryption']);
    expect(create.code).to.equal(1); // the plugin failed; the command line was fine
    expect(create.stderr).to.contain('plugin "crash-on-load" failed to load: fixture exploded while loading');
    // Every command is a new process: the failure is remembered, not re-learnt.
    const list = await haven.json<PluginInfo[]>(['plugins', 'list']);
    expect(list.map((p) => p.id)).to.include.members(['crash-on-load', 'local']);
    const crashed = list.find((p) => p.id === 'crash-on-load')!;
    expect(crashed.state).to.equal('failed');
    expect(crashed.reason).to.contain('fixture exploded while loading');
    const info = await haven.run(['plugins', 'info', 'crash-on-load']);
    expect(info.stdout).to.match(/state: +failed — failed to load: fixture exploded while loading/);
    mkdirSync(path.join(haven.root, 'repo'));
    const local = await haven.run(['task', 'create', 'l', '--source', haven.root, '--dest', `local:${path.join(haven.root, 'repo')}`, '--no-encryption']);
    expect(local.code, local.stderr).to.equal(0);
  });

  it('tries a failed plugin again once its code changes', async () => {
    const haven = havenSandbox();
    const dir = path.join(haven.root, 'crashy-copy');
    cpSync(fixture('crash-on-load'), dir, { recursive: true });
    const env = { HAVEN_PLUGIN_PATH: dir };
    expect((await haven.run(['task', 'create', 'c', '--source', haven.root, '--dest', 'crashy:/x', '--no-encryption'], { env })).code).to.equal(1);
    expect((await haven.json<PluginInfo[]>(['plugins', 'list'], { env })).find((p) => p.id === 'crash-on-load')!.state).to.equal('failed');
    writeFileSync(path.join(dir, 'index.js'), 'export function activate() {}\n');
    const after = (await haven.json<PluginInfo[]>(['plugins', 'list'], { env })).find((p) => p.id === 'crash-on-load')!;
    expect(after.state).to.equal('ready');
  });

  it('skips the run of a task whose provider is no longer installed (exit 4), saying so', async () => {
    const haven = havenSandbox();
    const env = { HAVEN_PLUGIN_PATH: fixture('example-dir') };
    const created = await haven.run(['task', 'create', 'gone', '--source', haven.root, '--dest', `exdir:${path.join(haven.root, 'repo')}`, '--no-encryption'], { env });
    expect(created.code, created.stderr).to.equal(0);
    const run = await haven.run(['run', 'gone', '--json']); // the plugin's folder is no longer on the path
    expect(run.code).to.equal(4);
    const record = JSON.parse(run.stdout);
    expect(record.status).to.equal('skipped');
    expect(record.reason).to.contain('storage provider "exdir" is not installed');
  });
});
