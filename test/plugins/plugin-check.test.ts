/**
 * `haven plugins check`: the storage conformance kit through the real CLI, against the built-in
 * local provider and the plugin guide's example provider (an API 1.0 style store).
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_PLUGINS, havenSandbox } from '../helpers/haven-cli.js';
import type { PluginStoreCheck } from '#core/cli/commands/plugin-check.js';

const CASES = 19;
/** Needs a way to make the store unreachable, which only a provider's own test can give. */
const UNREACHABLE = "a store that cannot be reached never answers 'not found' (no ENOENT, no null stat, no empty listing)";
/** What an API 1.0 store (no optional methods) skips. */
const SKIPPED_BY_1_0 = [
  'putIfAbsent: of two racing calls exactly one wins, and its blob stays',
  'putStream and getStream keep the contract of put and get (ranges, empty, missing)',
  'freeSpace gives a number of bytes (or undefined when it cannot tell)',
  UNREACHABLE,
];

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('haven plugins check', function () {
  this.timeout(120_000);

  it('passes every case of the local provider, without touching a repository already there', async () => {
    const haven = havenSandbox();
    const location = path.join(haven.root, 'backups');
    mkdirSync(path.join(location, 'data', 'ab'), { recursive: true });
    writeFileSync(path.join(location, 'config'), 'a repository config');
    writeFileSync(path.join(location, 'data', 'ab', 'ab12'), 'a pack');
    const result = await haven.run(['plugins', 'check', 'local', '--location', location]);
    expect(result.code, result.stderr).to.equal(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).to.have.length(CASES + 1);
    for (const line of lines.slice(0, CASES)) {
      if (line.startsWith(UNREACHABLE)) expect(line).to.match(/: skipped: no way to make this store unreachable was given/);
      else expect(line).to.match(/ \(\d+ ms\): ok$/);
    }
    expect(lines[CASES]).to.equal(`${CASES - 1} passed, 0 failed, 1 skipped`);
    // The cases cleaned up after themselves (empty folders of theirs may stay: blobs have no folders to delete).
    expect(filesBelow(location)).to.deep.equal(['config', path.join('data', 'ab', 'ab12')]);
    expect(readFileSync(path.join(location, 'config'), 'utf8')).to.equal('a repository config');
    expect(readdirSync(location).filter((n) => n.startsWith('haven-conformance-'))).to.have.length(1);
  });

  it("reports the guide's example provider (API 1.0 style) as passing, with what 1.1 added skipped (JSON)", async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: path.join(FIXTURE_PLUGINS, 'example-dir') });
    const location = path.join(haven.root, 'exdir');
    const check = await haven.json<PluginStoreCheck>(['plugins', 'check', 'example-dir', '--location', location]);
    expect(check).to.include({ plugin: 'example-dir', destination: `exdir:${location}`, passed: CASES - SKIPPED_BY_1_0.length, failed: 0, skipped: SKIPPED_BY_1_0.length });
    expect(check.prefix).to.match(/^haven-conformance-[0-9a-f]{12}\/$/);
    expect(check.cases).to.have.length(CASES);
    const skipped = check.cases.filter((c) => c.status === 'skipped');
    expect(skipped.map((c) => [c.name, c.ok])).to.deep.equal(SKIPPED_BY_1_0.map((name) => [name, false]));
    expect(skipped[0].skipped).to.match(/^the store has no putIfAbsent/);
    for (const c of check.cases) expect(c.ms).to.be.a('number');
    expect(filesBelow(location)).to.deep.equal([]);
  });

  it('prints a failed case with its message and exits 1', async () => {
    // A copy of the example whose ranges are padded with zeros, as the example's were before the kit.
    const haven = havenSandbox();
    const plugin = path.join(haven.root, 'padded-ranges');
    mkdirSync(plugin);
    writeFileSync(path.join(plugin, 'package.json'), readFileSync(path.join(FIXTURE_PLUGINS, 'example-dir', 'package.json')));
    const source = readFileSync(path.join(FIXTURE_PLUGINS, 'example-dir', 'index.js'), 'utf8');
    const padded = source.replace(/\n\s*if \(bytesRead < range\.length\).*\n/, '\n');
    expect(padded).to.not.equal(source);
    writeFileSync(path.join(plugin, 'index.js'), padded);
    const result = await haven.run(['plugins', 'check', 'example-dir', '--location', path.join(haven.root, 'exdir')], { env: { HAVEN_PLUGIN_PATH: plugin } });
    expect(result.code).to.equal(1);
    expect(result.stdout).to.contain(
      "get of a range that starts past the end rejects; one that runs past it gives only the bytes that exist (",
    ).and.contain('ms): FAILED: get with range { offset: 1010, length: 5 } of a 1000-byte blob (starts past the end): expected a rejection, but it resolved with 5 bytes\n');
    expect(result.stdout.trimEnd().split("\n").at(-1)).to.equal(`${CASES - 1 - SKIPPED_BY_1_0.length} passed, 1 failed, ${SKIPPED_BY_1_0.length} skipped`);
  });

  it('refuses bad input with exit 2: an unknown plugin, a plugin without storage provider, a location the provider rejects', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: [path.join(FIXTURE_PLUGINS, 'example-dir'), path.join(FIXTURE_PLUGINS, 'vetoer')].join(':') });
    const unknown = await haven.run(['plugins', 'check', 'nope', '--location', '/tmp/x']);
    expect([unknown.code, unknown.stderr]).to.deep.equal([2, 'haven: no plugin "nope" (see "haven plugins list")\n']);
    const noStore = await haven.run(['plugins', 'check', 'vetoer', '--location', '/tmp/x']);
    expect([noStore.code, noStore.stderr]).to.deep.equal([2, 'haven: plugin "vetoer" contributes no storage provider: there is nothing to check\n']);
    const relative = await haven.run(['plugins', 'check', 'example-dir', '--location', 'exdir:relative/folder']);
    expect([relative.code, relative.stderr]).to.deep.equal([2, 'haven: location "relative/folder": give an absolute folder, e.g. exdir:/srv/backups\n']);
    const missing = await haven.run(['plugins', 'check', 'example-dir']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain("required option '--location <location>' not specified");
  });

  it('round-trips a 300 MB blob with --large, streamed through the local provider', async () => {
    const haven = havenSandbox();
    const location = path.join(haven.root, 'large');
    const check = await haven.json<PluginStoreCheck>(['plugins', 'check', 'local', '--location', location, '--large']);
    expect(check).to.include({ failed: 0 });
    const large = check.cases.find((c) => c.name.startsWith('a large blob round trip'))!;
    expect(large.status).to.equal('passed');
    expect(filesBelow(location)).to.deep.equal([]);
  });
});
