/**
 * The main job through the real CLI: a one-shot backup of a folder to a local folder, runs
 * and their records, browsing, restore, check, wrong password, and a plugin-provided
 * destination (the guide's example plugin).
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, writeFileSync, lstatSync, readlinkSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_PLUGINS, REPO_ROOT, havenSandbox, type HavenSandbox } from '../helpers/haven-cli.js';
import { ensureUser, isRoot, makeTraversable } from '../helpers/os-user.js';
import type { RunRecord } from '@haven/plugin-api';
import { makeTree } from '../helpers/plugin-round-trip.js';


/** path -> sha256 (files), "-> target" (links), "dir" (folders), relative to root. */
function digest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(full);
      } else out[rel] = `${createHash('sha256').update(readFileSync(full)).digest('hex')} ${(st.mode & 0o777).toString(8)}`;
    }
  };
  walk(root);
  return out;
}

function makeSource(haven: HavenSandbox): string {
  return makeTree(path.join(haven.root, 'Documents'));
}

describe('backup and restore through the CLI', () => {
  it('backs up a folder with the one-shot command, restores it byte-identical, and re-runs cheaply', async () => {
    const haven = havenSandbox();
    const source = makeSource(haven);
    const passwordFile = path.join(haven.root, 'pass');
    writeFileSync(passwordFile, 'a long passphrase\n', { mode: 0o600 });
    const repo = path.join(haven.root, 'backup');

    const first = await haven.run(['backup', source, '--to', `local:${repo}`, '--password-file', passwordFile, '--json']);
    expect(first.code, first.stderr).to.equal(0);
    const record = JSON.parse(first.stdout) as RunRecord;
    expect(record).to.include({ task: 'backup-Documents', trigger: 'manual', status: 'success' });
    expect(record.files, 'regular files (the link is stored as a link)').to.equal(4);
    expect(record.bytesRead).to.be.greaterThan(3 * 1024 * 1024);
    expect(record.snapshot).to.be.a('string');
    expect(record.errors).to.deep.equal([]);
    expect(first.stderr, 'nothing is drawn on a pipe without --progress').to.not.contain('ETA');

    const second = JSON.parse((await haven.run(['backup', source, '--to', `local:${repo}`, '--password-file', passwordFile, '--json'])).stdout) as RunRecord;
    expect(second.status).to.equal('success');
    expect(second.snapshot).to.not.equal(record.snapshot);
    expect(second.bytesAdded).to.be.lessThan(64 * 1024);

    const snapshots = await haven.json<Array<{ id: string }>>(['snapshots', 'backup-Documents']);
    expect(snapshots.map((s) => s.id)).to.deep.equal([second.snapshot, record.snapshot]);
    const top = await haven.json<Array<{ name: string; type: string }>>(['ls', 'backup-Documents']);
    expect(top.length).to.be.greaterThan(0);

    const target = path.join(haven.root, 'restored');
    const restored = await haven.run(['restore', 'backup-Documents', '--to', target, '--json']);
    expect(restored.code, restored.stderr).to.equal(0);
    const restoredRoot = findRestoredRoot(target, source);
    expect(digest(restoredRoot)).to.deep.equal(digest(source));

    const check = await haven.run(['check', 'backup-Documents', '--read-data', '--json']);
    expect(check.code, check.stderr).to.equal(0);
    expect(JSON.parse(check.stdout).ok).to.equal(true);

    const history = await haven.json<RunRecord[]>(['history', '--limit', '1']);
    expect(history.map((r) => r.id)).to.deep.equal([second.id]);
  });

  it('refuses a wrong password with exit 12 and keeps passwords out of records and state', async () => {
    const haven = havenSandbox();
    const source = makeSource(haven);
    const repo = path.join(haven.root, 'backup');
    const run = await haven.run(['backup', source, '--to', `local:${repo}`, '--name', 'docs', '--json'], { env: { HAVEN_PASSWORD: 'right-password-42' } });
    expect(run.code, run.stderr).to.equal(0);
    const wrong = await haven.run(['run', 'docs', '--json'], { env: { HAVEN_PASSWORD: 'wrong-password' } });
    expect(wrong.code).to.equal(12);
    expect(JSON.parse(wrong.stdout).status).to.equal('failed');
    const snaps = await haven.run(['snapshots', 'docs'], { env: { HAVEN_PASSWORD: 'wrong-password' } });
    expect(snaps.code).to.equal(12);
    expect(snaps.stderr).to.match(/password/i);
    const noPassword = await haven.run(['run', 'docs']);
    expect(noPassword.code).to.equal(2);
    expect(noPassword.stderr).to.contain('HAVEN_PASSWORD');
    // The secret appears nowhere in Haven's state.
    const stateFiles = readdirSync(path.join(haven.root, 'home'), { recursive: true }) as string[];
    for (const file of stateFiles) {
      const full = path.join(haven.root, 'home', file);
      if (lstatSync(full).isFile()) expect(readFileSync(full, 'utf8'), file).to.not.contain('right-password-42');
    }
  });

  it('runs as partial (exit 3) and lists a file the user cannot read', async function () {
    if (!isRoot()) throw new Error('needs root to create the unprivileged test user');
    const user = ensureUser('haven-plain');
    makeTraversable(REPO_ROOT);
    const haven = havenSandbox();
    chmodSync(haven.root, 0o755);
    const source = makeSource(haven);
    const secret = path.join(source, 'letters', 'secret.txt');
    writeFileSync(secret, 'not yours');
    chownSync(haven.root, user.uid, user.gid);
    for (const p of readdirSync(haven.root, { recursive: true }) as string[]) chownSync(path.join(haven.root, p), user.uid, user.gid);
    chownSync(secret, 0, 0);
    chmodSync(secret, 0o600);
    const result = await haven.run(['backup', source, '--to', `local:${path.join(haven.root, 'backup')}`, '--no-encryption', '--json'], { user });
    expect(result.code, result.stderr).to.equal(3);
    const record = JSON.parse(result.stdout) as RunRecord;
    expect(record.status).to.equal('partial');
    expect(record.snapshot).to.be.a('string');
    expect(record.errors.map((e) => e.path)).to.deep.equal([secret]);
  });

  it('refuses a user a restore into a folder they cannot write (exit 5), writing nothing', async function () {
    if (!isRoot()) throw new Error('needs root to create the unprivileged test user');
    const user = ensureUser('haven-plain');
    makeTraversable(REPO_ROOT);
    const haven = havenSandbox();
    const source = makeSource(haven);
    chownSync(haven.root, user.uid, user.gid);
    for (const p of readdirSync(haven.root, { recursive: true }) as string[]) chownSync(path.join(haven.root, p), user.uid, user.gid);
    const backup = await haven.run(['backup', source, '--to', `local:${path.join(haven.root, 'backup')}`, '--no-encryption'], { user });
    expect(backup.code, backup.stderr).to.equal(0);
    const forbidden = path.join(haven.root, 'root-only');
    mkdirSync(forbidden, { mode: 0o755 });
    chownSync(forbidden, 0, 0);
    const restore = await haven.run(['restore', 'backup-Documents', '--to', path.join(forbidden, 'here')], { user });
    expect(restore.code, restore.stderr).to.equal(5);
    expect(restore.stderr).to.contain(`you cannot write to ${forbidden}`);
    expect(readdirSync(forbidden)).to.deep.equal([]);
  });

  it('reuses the one-shot task for the same sources and destination, and refuses a different one', async () => {
    const haven = havenSandbox();
    const source = makeSource(haven);
    const repo = path.join(haven.root, 'backup');
    expect((await haven.run(['backup', source, '--to', `local:${repo}`, '--no-encryption'])).code).to.equal(0);
    // The same destination written differently (relative, trailing slash) is the same task.
    const again = await haven.run(['backup', 'Documents', '--to', 'local:backup/', '--no-encryption'], { cwd: haven.root });
    expect(again.code, again.stderr).to.equal(0);
    const elsewhere = await haven.run(['backup', source, '--to', `local:${repo}-2`, '--no-encryption']);
    expect(elsewhere.code).to.equal(2);
    expect(elsewhere.stderr).to.contain('already exists with other sources or destination');
    expect((await haven.json<unknown[]>(['snapshots', 'backup-Documents'])).length).to.equal(2);
  });

  it('backs up and restores through a third-party plugin (the guide example)', async () => {
    const haven = havenSandbox({ HAVEN_PLUGIN_PATH: path.join(FIXTURE_PLUGINS, 'example-dir') });
    const source = makeSource(haven);
    const dest = path.join(haven.root, 'exdir');
    const run = await haven.run(['backup', source, '--to', `exdir:${dest}`, '--no-encryption', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(existsSync(path.join(dest, 'config'))).to.equal(true);
    const target = path.join(haven.root, 'restored');
    const restored = await haven.run(['restore', 'backup-Documents', '--to', target]);
    expect(restored.code, restored.stderr).to.equal(0);
    expect(digest(findRestoredRoot(target, source))).to.deep.equal(digest(source));
  });
});

/** Restores may recreate the source's absolute path under the target, or its last folder. */
function findRestoredRoot(target: string, source: string): string {
  const candidates = [path.join(target, source), path.join(target, path.basename(source)), target];
  for (const c of candidates) if (existsSync(path.join(c, 'letters'))) return c;
  throw new Error(`restored tree not found under ${target}: ${JSON.stringify(readdirSync(target, { recursive: true }))}`);
}
