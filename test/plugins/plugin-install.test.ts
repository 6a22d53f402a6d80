/**
 * `haven plugins install` and `uninstall` through the real CLI and the real npm: an API 1.0
 * plugin (a copy of the guide's example) from a folder and from a tarball, production
 * dependencies, the refusals (nothing left behind), `--force`, `--system` for administrators
 * only (a real unprivileged OS user), and plugins that `npm install` put in a plugin folder.
 */
import { expect } from 'chai';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_PLUGINS, REPO_ROOT, havenSandbox, tempDir, type HavenSandbox } from '../helpers/haven-cli.js';
import { ensureUser, isRoot, sandboxFor } from '../helpers/os-user.js';
import { NPM_ENV, npmOk, npmPack } from '../helpers/npm.js';
import { createTask, expectRunAndRestore, makeTree } from '../helpers/plugin-round-trip.js';
import type { PluginInfo } from '#core/plugins/plugin-host.js';
import type { PluginStoreCheck } from '#core/cli/commands/plugin-check.js';

type PackageJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A copy of the guide's example plugin (API 1.0, no dependencies), its package.json changed by `change`. */
function examplePlugin(change: (pkg: PackageJson) => void = () => undefined): string {
  const dir = path.join(tempDir('haven-plugin-src-'), 'example-dir');
  cpSync(path.join(FIXTURE_PLUGINS, 'example-dir'), dir, { recursive: true });
  const file = path.join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  change(pkg);
  writeFileSync(file, JSON.stringify(pkg, null, 2));
  return dir;
}

const userPluginsOf = (haven: HavenSandbox) => path.join(haven.root, 'xdg-data', 'haven', 'plugins');
const systemPluginsOf = (haven: HavenSandbox) => path.join(haven.root, 'system-plugins');

async function pluginNamed(haven: HavenSandbox, id: string, options?: { env?: NodeJS.ProcessEnv }): Promise<PluginInfo | undefined> {
  return (await haven.json<PluginInfo[]>(['plugins', 'list'], options)).find((p) => p.id === id);
}

describe('haven plugins install and uninstall', function () {
  this.timeout(180_000);

  it('installs an API 1.0 plugin from its folder and from a tarball; it passes the kit and backs up and restores unchanged', async () => {
    const haven = havenSandbox(NPM_ENV);
    const userPlugins = userPluginsOf(haven);
    const plugin = examplePlugin();
    const fromFolder = await haven.run(['plugins', 'install', plugin]);
    expect(fromFolder.code, fromFolder.stderr).to.equal(0);
    const installed = path.join(userPlugins, 'example-dir');
    expect(fromFolder.stdout).to.equal(`installed plugin "example-dir" 1.0.0 (haven-plugin-example-dir) in ${installed} (user plugin folder)\nstate: ready\n`);
    expect(await pluginNamed(haven, 'example-dir')).to.deep.include({ state: 'ready', origin: 'user', dir: installed });

    const source = makeTree(path.join(haven.root, 'Documents'));
    await createTask(haven, 'docs', source, `exdir:${path.join(haven.root, 'exdir')}`);
    await expectRunAndRestore(haven, 'docs', source);

    const removed = await haven.run(['plugins', 'uninstall', 'example-dir']);
    expect(removed.code, removed.stderr).to.equal(0);
    expect(removed.stdout).to.contain(`uninstalled plugin "example-dir" 1.0.0 from ${installed}`);
    expect(readdirSync(userPlugins)).to.deep.equal([]);
    const orphan = await haven.run(['run', 'docs']);
    expect(orphan.code, 'a task whose provider is gone is skipped').to.equal(4);
    expect(orphan.stdout + orphan.stderr).to.contain('storage provider "exdir" is not installed');

    const tarball = await npmPack(plugin, tempDir('haven-plugin-pack-'));
    const fromTarball = await haven.run(['plugins', 'install', tarball]);
    expect(fromTarball.code, fromTarball.stderr).to.equal(0);
    expect(fromTarball.stdout).to.contain(`installed plugin "example-dir" 1.0.0 (haven-plugin-example-dir) in ${installed}`);
    const check = await haven.json<PluginStoreCheck>(['plugins', 'check', 'example-dir', '--location', path.join(haven.root, 'check')]);
    expect(check.failed).to.equal(0);
    expect(check.passed + check.skipped).to.equal(check.cases.length);
    // An API 1.0 store lacks the optional methods of 1.1: only their cases may be skipped, and
    // the unreachable store, which only a provider's own test can make.
    for (const c of check.cases.filter((x) => x.status === 'skipped')) expect(c.skipped).to.match(/^the store has (no|neither) |^no way to make this store unreachable/);
    await expectRunAndRestore(haven, 'docs', source);
  });

  it('installs production dependencies only, and links the plugin API of this Haven', async () => {
    const haven = havenSandbox(NPM_ENV);
    const plugin = examplePlugin((pkg) => {
      pkg.dependencies = { picomatch: '4.0.3' };
      pkg.devDependencies = { chai: '5.3.3' };
      pkg.peerDependencies = { '@haven/plugin-api': '^1.0.0' };
    });
    // The plugin does not load without its dependency.
    const index = path.join(plugin, 'index.js');
    writeFileSync(index, `import picomatch from 'picomatch';\nif (typeof picomatch !== 'function') throw new Error('no picomatch');\n${readFileSync(index, 'utf8')}`);
    const result = await haven.run(['plugins', 'install', plugin]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('dependencies: picomatch\n');
    const modules = path.join(userPluginsOf(haven), 'example-dir', 'node_modules');
    expect(readdirSync(modules).filter((n) => !n.startsWith('.')).sort()).to.deep.equal(['@haven', 'picomatch']);
    expect(lstatSync(path.join(modules, '@haven', 'plugin-api')).isSymbolicLink()).to.equal(true);
    expect(realpathSync(path.join(modules, '@haven', 'plugin-api'))).to.equal(realpathSync(path.join(REPO_ROOT, 'plugin-api')));
    const source = makeTree(path.join(haven.root, 'Documents'));
    const backup = await haven.run(['backup', source, '--to', `exdir:${path.join(haven.root, 'exdir')}`, '--no-encryption']);
    expect(backup.code, backup.stderr).to.equal(0);
  });

  it('refuses what this Haven cannot load, with exit 2, leaving nothing in the plugin folder', async () => {
    const haven = havenSandbox(NPM_ENV);
    const refused = async (source: string) => {
      const result = await haven.run(['plugins', 'install', source]);
      expect(result.code, result.stderr).to.equal(2);
      return result.stderr;
    };
    expect(await refused(path.join(FIXTURE_PLUGINS, 'future-engine'))).to.equal(
      'haven: plugin "future-engine" 1.0.0 cannot be loaded by this Haven: it needs Haven plugin API ^2.0.0, but this Haven provides 1.2.0\n',
    );
    const futureTarball = await npmPack(path.join(FIXTURE_PLUGINS, 'future-engine'), tempDir('haven-plugin-pack-'));
    expect(await refused(futureTarball)).to.contain('needs Haven plugin API ^2.0.0');
    expect(await refused(path.join(FIXTURE_PLUGINS, 'bad-manifest'))).to.contain('has an invalid plugin manifest (package.json): ').and.contain('haven.id: "Bad Id!" is not valid');
    const notPlugin = examplePlugin((pkg) => delete pkg.haven);
    expect(await refused(notPlugin)).to.equal(`haven: ${notPlugin} is not a Haven plugin: its package.json has no "haven" manifest (see docs/plugins.md)\n`);
    const unbuilt = examplePlugin((pkg) => (pkg.main = 'dist/index.js'));
    expect(await refused(unbuilt)).to.contain('its main file dist/index.js is not in the package (build it first');
    const junk = path.join(haven.root, 'junk.tgz');
    writeFileSync(junk, 'not a tarball');
    expect(await refused(junk)).to.contain(`${junk} is not a package tarball (.tgz)`);
    expect(await refused(path.join(haven.root, 'nowhere'))).to.contain('no such plugin folder or package tarball');
    expect(existsSync(userPluginsOf(haven)), 'nothing was copied').to.equal(false);
  });

  it('replaces an installed plugin only with --force', async () => {
    const haven = havenSandbox(NPM_ENV);
    const installed = path.join(userPluginsOf(haven), 'example-dir');
    expect((await haven.run(['plugins', 'install', examplePlugin()])).code).to.equal(0);
    const newer = examplePlugin((pkg) => (pkg.version = '1.0.1'));
    const again = await haven.run(['plugins', 'install', newer]);
    expect([again.code, again.stderr]).to.deep.equal([2, `haven: plugin "example-dir" is already installed in ${installed}: add --force to replace it with 1.0.1\n`]);
    expect(JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')).version).to.equal('1.0.0');
    const forced = await haven.run(['plugins', 'install', newer, '--force']);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(forced.stdout).to.contain(`replaced plugin "example-dir" 1.0.1 (haven-plugin-example-dir) in ${installed}`);
    expect((await pluginNamed(haven, 'example-dir'))?.version).to.equal('1.0.1');
    expect(readdirSync(userPluginsOf(haven)), 'no staging or old copy left').to.deep.equal(['example-dir']);
  });

  it('installs a plugin that Haven cannot use as things are, and says why on stderr', async () => {
    const haven = havenSandbox(NPM_ENV);
    const result = await haven.run(['plugins', 'install', path.join(FIXTURE_PLUGINS, 'dupe-local')]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('state: conflict\n');
    expect(result.stderr).to.contain('haven: plugin "dupe-local" is installed, but Haven cannot use it as things are: storage provider type "local" is contributed by both');
  });

  it('refuses to uninstall a built-in plugin or one of HAVEN_PLUGIN_PATH, and says why', async () => {
    const example = path.join(FIXTURE_PLUGINS, 'example-dir');
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: example });
    const builtin = await haven.run(['plugins', 'uninstall', 'local']);
    expect([builtin.code, builtin.stderr]).to.deep.equal([
      2,
      `haven: plugin "local" is built into Haven (${path.join(REPO_ROOT, 'plugins', 'local')}) and cannot be uninstalled; an administrator can disable it: haven plugins disable local\n`,
    ]);
    expect(existsSync(path.join(REPO_ROOT, 'plugins', 'local', 'package.json'))).to.equal(true);
    const onPath = await haven.run(['plugins', 'uninstall', 'example-dir']);
    expect([onPath.code, onPath.stderr]).to.deep.equal([2, `haven: plugin "example-dir" is found through HAVEN_PLUGIN_PATH (${example}): take its folder out of HAVEN_PLUGIN_PATH\n`]);
    const unknown = await haven.run(['plugins', 'uninstall', 'nope']);
    expect([unknown.code, unknown.stderr]).to.deep.equal([2, 'haven: no plugin "nope" (see "haven plugins list")\n']);
  });

  it('discovers plugins that npm installed into a plugin folder (scoped too), never hidden folders, and says which npm uninstall removes them', async () => {
    const haven = havenSandbox();
    const userPlugins = userPluginsOf(haven);
    const packs = tempDir('haven-plugin-pack-');
    const plain = await npmPack(examplePlugin(), packs);
    const scoped = await npmPack(examplePlugin((pkg) => {
      pkg.name = '@acme/haven-plugin-scoped';
      pkg.haven.id = 'scoped-dir';
      pkg.haven.contributes.storageProviders[0].type = 'scdir';
      pkg.haven.activationEvents = ['onStorageProvider:scdir'];
    }), packs);
    mkdirSync(userPlugins, { recursive: true });
    await npmOk(['install', '--prefer-offline', '--no-audit', '--no-fund', plain, scoped], userPlugins);
    // What an interrupted install leaves is hidden: never a plugin.
    cpSync(examplePlugin((pkg) => (pkg.haven.id = 'half-installed')), path.join(userPlugins, '.installing-half-installed-x1'), { recursive: true });
    const list = await haven.json<PluginInfo[]>(['plugins', 'list']);
    expect(list.filter((p) => p.origin === 'user').map((p) => [p.id, p.state, p.dir])).to.deep.equal([
      ['scoped-dir', 'ready', path.join(userPlugins, 'node_modules', '@acme', 'haven-plugin-scoped')],
      ['example-dir', 'ready', path.join(userPlugins, 'node_modules', 'haven-plugin-example-dir')],
    ]);
    const uninstall = await haven.run(['plugins', 'uninstall', 'scoped-dir']);
    expect(uninstall.code).to.equal(2);
    expect(uninstall.stderr).to.contain(`remove it with "npm uninstall @acme/haven-plugin-scoped" in ${userPlugins}\n`);
  });

  describe('--system', () => {
    before(function () {
      // Rights can only be tested for real with a second, unprivileged OS user.
      if (!isRoot()) throw new Error('these tests create a real OS user and must run as root (CI does)');
    });

    it('is for administrators only: a plain user is refused (exit 5) and changes nothing; what root installs there every user loads', async () => {
      const user = ensureUser('haven-plain');
      const haven = sandboxFor(user, NPM_ENV);
      const systemPlugins = systemPluginsOf(haven);
      const plugin = examplePlugin();
      const denied = await haven.run(['plugins', 'install', plugin, '--system'], { user });
      expect(denied.code, denied.stderr).to.equal(5);
      expect(denied.stderr).to.contain('only an administrator can enable or disable plugins, or install and uninstall them for every user');
      expect(readdirSync(systemPlugins)).to.deep.equal([]);

      const installed = await haven.run(['plugins', 'install', plugin, '--system']);
      expect(installed.code, installed.stderr).to.equal(0);
      expect(installed.stdout).to.contain(`in ${path.join(systemPlugins, 'example-dir')} (system plugin folder)`);
      expect(await pluginNamed(haven, 'example-dir')).to.deep.include({ state: 'ready', origin: 'system' });
      // The plain user loads it (its files are readable by all) ...
      const check = await haven.run(['plugins', 'check', 'example-dir', '--location', path.join(haven.root, 'xdg-data', 'check')], { user });
      expect(check.code, check.stderr).to.equal(0);
      // ... but cannot remove it, and is told who can.
      const mine = await haven.run(['plugins', 'uninstall', 'example-dir'], { user });
      expect([mine.code, mine.stderr]).to.deep.equal([
        2,
        `haven: plugin "example-dir" is installed in the system plugin folder (${path.join(systemPlugins, 'example-dir')}): an administrator removes it with "haven plugins uninstall example-dir --system"\n`,
      ]);
      const system = await haven.run(['plugins', 'uninstall', 'example-dir', '--system'], { user });
      expect(system.code, system.stderr).to.equal(5);
      expect(readdirSync(systemPlugins)).to.deep.equal(['example-dir']);
      const byRoot = await haven.run(['plugins', 'uninstall', 'example-dir', '--system']);
      expect(byRoot.code, byRoot.stderr).to.equal(0);
      expect(readdirSync(systemPlugins)).to.deep.equal([]);
    });
  });
});
