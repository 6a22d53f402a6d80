/**
 * Backups in child processes: killed mid-run (SIGKILL), run as a real unprivileged user
 * (unreadable files), and peak memory while backing up one large file.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { backup, check, initRepository, openRepository, type Repository } from '#core/engine/index.js';
import { localStore } from '../helpers/local-store.js';
import { ensureUser, isRoot, makeTraversable } from '../helpers/os-user.js';
import { META, REPO_ROOT, tmp, writeRandomFile } from './engine-helpers.js';

const MiB = 1024 * 1024;
const engineUrl = pathToFileURL(path.join(REPO_ROOT, 'core', 'dist', 'engine', 'index.js')).href;
const storeUrl = pathToFileURL(path.join(REPO_ROOT, 'test', 'dist', 'helpers', 'local-store.js')).href;

/** A child script that opens the repository and backs `src` up, printing the result as JSON. */
function backupScript(file: string): void {
  writeFileSync(
    file,
    `import { openRepository, backup } from ${JSON.stringify(engineUrl)};
import { localStore } from ${JSON.stringify(storeUrl)};
import { readFileSync } from 'node:fs';
const [repoDir, password, src] = process.argv.slice(2);
const repo = await openRepository(localStore(repoDir), { password: password === '-' ? null : password });
const r = await backup(repo, { sources: [src], excludes: [], meta: { taskId: 'child', task: 'child', runId: 'r', host: 'h', user: 'u' } });
await repo.close();
const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
process.stdout.write(JSON.stringify({ ...r, peakRss: hwm }));
`,
  );
}

function runChild(args: string[], opts: { uid?: number; gid?: number } = {}): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

function countPacks(repoDir: string): number {
  let n = 0;
  try {
    for (const sub of readdirSync(path.join(repoDir, 'data'))) n += readdirSync(path.join(repoDir, 'data', sub)).filter((f) => !f.includes('.tmp-')).length;
  } catch {
    // no data folder yet
  }
  return n;
}

describe('engine: backups in child processes', function () {
  this.timeout(180_000);
  let work: string;
  let script: string;

  before(function () {
    work = tmp('proc');
    script = path.join(work, 'backup-child.mjs');
    backupScript(script);
  });
  after(function () {
    rmSync(work, { recursive: true, force: true });
  });

  it('a backup killed with SIGKILL leaves a repository that checks clean, and the next run reuses its packs', async function () {
    const src = path.join(work, 'kill-src');
    mkdirSync(src);
    for (let i = 0; i < 6; i++) writeRandomFile(path.join(src, `part-${i}.bin`), 50 * MiB);
    const repoDir = path.join(work, 'kill-repo');
    const init = await initRepository(localStore(repoDir), { password: 'pw' });
    await init.close();

    const { child, done } = runChild([script, repoDir, 'pw', src]);
    const deadline = Date.now() + 60_000;
    while (countPacks(repoDir) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    const res = await done;
    expect(res.signal, `child finished before it could be killed: ${res.stdout}${res.stderr}`).to.equal('SIGKILL');
    const orphans = countPacks(repoDir);
    expect(orphans).to.be.at.least(4);

    const repo: Repository = await openRepository(localStore(repoDir), { password: 'pw' });
    try {
      const report = await check(repo, { readData: true });
      expect(report.problems).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      expect(report.snapshots).to.equal(0);
      expect(report.staleLocks.map((l) => l.pid)).to.include(child.pid);
      expect(report.unindexedPacks).to.equal(orphans);

      let uploaded = 0;
      for (const sub of readdirSync(path.join(repoDir, 'data'))) {
        // Temporary files of an upload cut short by the kill are not packs: not reusable.
        for (const f of readdirSync(path.join(repoDir, 'data', sub))) if (!f.includes('.tmp-')) uploaded += statSync(path.join(repoDir, 'data', sub, f)).size;
      }
      const r = await backup(repo, { sources: [src], excludes: [], meta: META('child') });
      expect(r.errors).to.deep.equal([]);
      expect(r.recoveredPacks).to.equal(orphans);
      // Everything already uploaded is reused: the run adds only what was missing.
      expect(r.bytesAdded).to.be.lessThan(300 * MiB - uploaded + 4 * MiB);
      // No blob stored twice.
      const packsPerBlob = new Map<string, Set<string>>();
      for (const name of repo.index.files) {
        for (const p of (await repo.readIndexFile(name)).packs) {
          for (const e of p.entries) {
            let s = packsPerBlob.get(e.id);
            if (!s) packsPerBlob.set(e.id, (s = new Set()));
            s.add(p.id);
          }
        }
      }
      const dup = [...packsPerBlob.values()].filter((s) => s.size > 1).length;
      expect(dup, 'blobs stored in two packs').to.equal(0);
      const after = await check(repo, { readData: false });
      expect(after.ok).to.equal(true);
    } finally {
      await repo.close();
    }
  });

  it('an unreadable file is listed in errors and the snapshot is still made', async function () {
    const src = path.join(work, 'perm-src');
    mkdirSync(path.join(src, 'closed-dir'), { recursive: true });
    writeFileSync(path.join(src, 'readable.txt'), 'fine');
    writeFileSync(path.join(src, 'secret.txt'), 'nope');
    writeFileSync(path.join(src, 'closed-dir', 'x.txt'), 'x');
    chmodSync(path.join(src, 'secret.txt'), 0o000);
    chmodSync(path.join(src, 'closed-dir'), 0o000);
    const repoDir = path.join(work, 'perm-repo');
    const init = await initRepository(localStore(repoDir), { password: null });
    await init.close();
    let opts: { uid?: number; gid?: number } = {};
    if (isRoot()) {
      const user = ensureUser('haven-engine-test');
      makeTraversable(work);
      makeTraversable(path.join(REPO_ROOT, 'core', 'dist', 'engine'));
      makeTraversable(path.join(REPO_ROOT, 'plugins', 'local', 'dist'));
      chmodSync(work, 0o755);
      chmodSync(script, 0o644);
      const chownTree = (p: string): void => {
        chownSync(p, user.uid, user.gid);
        for (const d of readdirSync(p, { withFileTypes: true })) {
          const q = path.join(p, d.name);
          if (d.isDirectory()) chownTree(q);
          else chownSync(q, user.uid, user.gid);
        }
      };
      chownTree(repoDir);
      chmodSync(src, 0o755);
      opts = { uid: user.uid, gid: user.gid };
    }
    const { done } = runChild([script, repoDir, '-', src], opts);
    const res = await done;
    expect(res.code, res.stderr).to.equal(0);
    const r = JSON.parse(res.stdout) as { snapshotId: string; files: number; errors: Array<{ path: string; message: string }> };
    expect(r.snapshotId).to.match(/^[0-9a-f]{64}$/);
    const paths = r.errors.map((e) => e.path).sort();
    expect(paths).to.deep.equal([path.join(src, 'closed-dir'), path.join(src, 'secret.txt')]);
    expect(r.errors.find((e) => e.path.endsWith('secret.txt'))!.message).to.match(/permission denied/);
    expect(r.files).to.equal(1);
    chmodSync(path.join(src, 'closed-dir'), 0o755);
    chmodSync(path.join(src, 'secret.txt'), 0o644);
  });

  it('peak memory stays under 300 MiB while backing up a large file', async function () {
    const size = Number(process.env.HAVEN_TEST_BIG_FILE_MB ?? 1024) * MiB;
    const src = path.join(work, 'mem-src');
    mkdirSync(src);
    writeRandomFile(path.join(src, 'large.bin'), size);
    const repoDir = path.join(work, 'mem-repo');
    const init = await initRepository(localStore(repoDir), { password: 'pw' });
    await init.close();
    const { done } = runChild([script, repoDir, 'pw', src]);
    const res = await done;
    expect(res.code, res.stderr).to.equal(0);
    const r = JSON.parse(res.stdout) as { bytesRead: number; peakRss: number };
    expect(r.bytesRead).to.equal(size);
    expect(r.peakRss).to.be.lessThan(300 * MiB);
    rmSync(src, { recursive: true, force: true });
    rmSync(repoDir, { recursive: true, force: true });
  });
});
