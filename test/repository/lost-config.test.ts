/**
 * A repository whose config is lost is a damaged repository, never an empty destination: the
 * next run refuses to create a new repository over it, says what is missing, and
 * `haven repair config` brings it back with every version.
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';

interface Setup {
  haven: HavenSandbox;
  repo: string;
  source: string;
  snapshot: string;
}

async function backedUp(encrypted: boolean): Promise<Setup> {
  const haven = havenSandbox();
  const source = path.join(haven.root, 'docs');
  mkdirSync(source);
  writeFileSync(path.join(source, 'a.txt'), 'first version\n');
  const repo = path.join(haven.root, 'repo');
  const secret = encrypted ? ['--password-file', path.join(haven.root, 'pass')] : ['--no-encryption'];
  if (encrypted) writeFileSync(path.join(haven.root, 'pass'), 'a passphrase\n', { mode: 0o600 });
  await haven.json(['task', 'create', 'docs', '--source', source, '--dest', `local:${repo}`, ...secret]);
  const run = await haven.json<{ snapshot: string }>(['run', 'docs']);
  return { haven, repo, source, snapshot: run.snapshot };
}

describe('a lost repository config', () => {
  it('makes the next run fail without creating anything, and repair config brings every version back (from its copy)', async () => {
    const { haven, repo, snapshot } = await backedUp(true);
    rmSync(path.join(repo, 'config'));
    const keysBefore = readdirSync(path.join(repo, 'keys'));
    const run = await haven.run(['run', 'docs', '--json']);
    expect(run.code).to.equal(1);
    const record = JSON.parse(run.stdout);
    expect(record.status).to.equal('failed');
    expect(record.reason).to.match(/holds a Haven repository \(1 version\(s\).*but its config file is missing/);
    expect(record.reason).to.contain('haven repair config');
    expect(readdirSync(repo)).to.not.include('config');
    expect(readdirSync(path.join(repo, 'keys'))).to.deep.equal(keysBefore);
    const snapshots = await haven.run(['snapshots', 'docs']);
    expect(snapshots.code).to.equal(1);
    expect(snapshots.stderr).to.contain('config file is missing');

    const repaired = await haven.json<{ source: string }>(['repair', 'config', 'docs']);
    expect(repaired.source).to.equal('copy');
    const versions = await haven.json<Array<{ id: string }>>(['snapshots', 'docs']);
    expect(versions.map((v) => v.id)).to.deep.equal([snapshot]);
    expect((await haven.run(['check', 'docs'])).code).to.equal(0);
    expect((await haven.run(['run', 'docs'])).code).to.equal(0);
  });

  it('is rebuilt from a key file when its copy is lost too', async () => {
    const { haven, repo, snapshot } = await backedUp(true);
    const original = JSON.parse(readFileSync(path.join(repo, 'config'), 'utf8'));
    rmSync(path.join(repo, 'config'));
    rmSync(path.join(repo, 'config.copy'));
    const wrong = await haven.run(['repair', 'config', 'docs'], { env: { HAVEN_PASSWORD: 'not it' } });
    expect(wrong.code).to.equal(12);
    const repaired = await haven.json<{ source: string; id: string }>(['repair', 'config', 'docs']);
    expect(repaired).to.deep.equal({ source: 'key', id: original.id });
    const versions = await haven.json<Array<{ id: string }>>(['snapshots', 'docs']);
    expect(versions.map((v) => v.id)).to.deep.equal([snapshot]);
    const restored = path.join(haven.root, 'restored');
    expect((await haven.run(['restore', 'docs', '--to', restored])).code).to.equal(0);
    expect(readFileSync(path.join(restored, 'docs', 'a.txt'), 'utf8')).to.equal('first version\n');
    expect((await haven.run(['check', 'docs', '--read-data'])).code).to.equal(0);
  });

  it('of an unencrypted repository is restored from its copy; repair config refuses a repository that has one', async () => {
    const { haven, repo, snapshot } = await backedUp(false);
    const nothingToDo = await haven.run(['repair', 'config', 'docs']);
    expect(nothingToDo.code).to.equal(2);
    expect(nothingToDo.stderr).to.contain('nothing to repair');
    rmSync(path.join(repo, 'config'));
    expect((await haven.run(['run', 'docs'])).code).to.equal(1);
    expect((await haven.json<{ source: string }>(['repair', 'config', 'docs'])).source).to.equal('copy');
    expect((await haven.json<Array<{ id: string }>>(['snapshots', 'docs'])).map((v) => v.id)).to.deep.equal([snapshot]);
  });

  it('is kept twice: check reports a copy that differs, the next run writes the copy again', async () => {
    const { haven, repo } = await backedUp(true);
    const config = readFileSync(path.join(repo, 'config'));
    expect(readFileSync(path.join(repo, 'config.copy'))).to.deep.equal(config);
    writeFileSync(path.join(repo, 'config.copy'), 'garbage');
    const check = await haven.run(['check', 'docs', '--json']);
    expect(check.code).to.equal(1);
    expect(JSON.parse(check.stdout).problems.map((p: { kind: string }) => p.kind)).to.deep.equal(['config-copy']);
    expect((await haven.run(['run', 'docs'])).code).to.equal(0);
    expect(readFileSync(path.join(repo, 'config.copy'))).to.deep.equal(config);
    rmSync(path.join(repo, 'config.copy')); // as in a repository made before the copy existed
    expect((await haven.run(['run', 'docs'])).code).to.equal(0);
    expect(readFileSync(path.join(repo, 'config.copy'))).to.deep.equal(config);
    expect((await haven.run(['check', 'docs'])).code).to.equal(0);
  });
});
