/**
 * Two first backups to one new destination at once: exactly one repository (one config, one
 * key) is created, both runs back up into it, and every version is readable. Through the real
 * CLI (local store: exclusive create by link), and through the fallback protocol of a store
 * that cannot create exclusively.
 */
import { listAll } from '@haven/plugin-api';
import type { RepositoryStore } from '#core/storage/repository-store.js';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LocalBlobStore } from '#plugin-local/local-blob-store.js';
import { openOrInitRepository, type Repository } from '#core/engine/index.js';
import { havenSandbox, tempDir } from '../helpers/haven-cli.js';

const ROUNDS = 20;

describe('creating a repository', function () {
  this.timeout(10 * 60_000);

  /** Runs two first backups at once into `base/R<round>`, `rounds` times, and checks each repository. */
  async function raceFirstBackups(base: string, rounds: number): Promise<void> {
    const haven = havenSandbox();
    const passwordFile = path.join(haven.root, 'pass');
    writeFileSync(passwordFile, 'one shared passphrase\n', { mode: 0o600 });
    for (const name of ['S1', 'S2']) {
      mkdirSync(path.join(haven.root, name));
      writeFileSync(path.join(haven.root, name, `${name}.txt`), `content of ${name}\n`);
    }
    for (let round = 0; round < rounds; round++) {
      const repo = path.join(base, `R${round}`);
      for (const name of ['c1', 'c2']) {
        const source = path.join(haven.root, name === 'c1' ? 'S1' : 'S2');
        const created = await haven.run(['task', 'create', `${name}-${round}`, '--source', source, '--dest', `local:${repo}`, '--password-file', passwordFile]);
        expect(created.code, created.stderr).to.equal(0);
      }
      const [a, b] = await Promise.all([haven.run(['run', `c1-${round}`, '--json']), haven.run(['run', `c2-${round}`, '--json'])]);
      expect(a.code, `round ${round}: ${a.stderr}`).to.equal(0);
      expect(b.code, `round ${round}: ${b.stderr}`).to.equal(0);
      expect(readdirSync(path.join(repo, 'keys')), `round ${round}`).to.have.length(1);
      const check = await haven.run(['check', `c1-${round}`, '--json']);
      expect(check.code, `round ${round}: ${check.stdout}${check.stderr}`).to.equal(0);
      for (const [task, record] of [[`c1-${round}`, a], [`c2-${round}`, b]] as const) {
        const versions = await haven.json<Array<{ id: string }>>(['snapshots', task]);
        expect(versions.map((v) => v.id), `round ${round}`).to.include(JSON.parse(record.stdout).snapshot);
      }
      rmSync(repo, { recursive: true, force: true });
    }
  }

  it(`two first backups at once to one new destination share one repository (${ROUNDS} rounds)`, async () => {
    await raceFirstBackups(tempDir(), ROUNDS);
  });

  it('the same on an exFAT drive (FUSE), which has no hard links (8 rounds)', async function () {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a file system: run it as root (CI does)');
    // The kernel here has no FAT/exFAT driver; exfat-fuse (installed by .ci/run) is the real thing
    // many USB drives are mounted with, and it refuses link() with EPERM.
    const work = tempDir();
    const image = path.join(work, 'exfat.img');
    const mountPoint = path.join(work, 'mnt');
    mkdirSync(mountPoint);
    execFileSync('truncate', ['-s', '64M', image]);
    execFileSync('mkfs.exfat', ['-L', 'HAVENTEST', image], { stdio: 'ignore' });
    const device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
    try {
      execFileSync('mount.exfat-fuse', [device, mountPoint], { stdio: 'ignore' });
      try {
        await raceFirstBackups(mountPoint, 8);
      } finally {
        execFileSync('umount', [mountPoint]);
      }
    } finally {
      execFileSync('losetup', ['-d', device]);
    }
  });

  it(`a store without exclusive create still ends with one config and one key (${ROUNDS} rounds)`, async () => {
    const work = tempDir();
    for (let round = 0; round < ROUNDS; round++) {
      const dir = path.join(work, `r${round}`);
      // The local store, minus putIfAbsent: the create-then-read-back protocol decides.
      const plain = (): RepositoryStore => {
        mkdirSync(dir, { recursive: true });
        const local = new LocalBlobStore(dir);
        return {
          description: local.description,
          put: (n, d) => local.put(n, d),
          get: (n, r) => local.get(n, r),
          list: (p) => listAll(local, p),
          delete: (n) => local.delete(n),
          stat: (n) => local.stat(n),
          close: () => local.close(),
        };
      };
      const opened: Repository[] = await Promise.all(
        [1, 2, 3].map(() => openOrInitRepository(plain(), { password: 'pw', settleMs: 150, scrypt: { N: 1024, r: 8, p: 1 } })),
      );
      expect(new Set(opened.map((r) => r.id)).size, `round ${round}`).to.equal(1);
      expect(readdirSync(path.join(dir, 'keys')), `round ${round}`).to.have.length(1);
      for (const r of opened) await r.close();
    }
  });
});
