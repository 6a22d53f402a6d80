/**
 * The end-to-end proof that a storage plugin works inside Haven: a task with the plugin's
 * destination type backs a small tree up, and a restore brings it back byte-identical.
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '@haven/plugin-api';
import type { HavenSandbox } from './haven-cli.js';
import { compareTrees } from '../engine/engine-helpers.js';

/** A tree with what a backup must keep: nested folders, a non-ASCII name, an empty file, a multi-chunk file with its own mode, a link. */
export function makeTree(root: string): string {
  mkdirSync(path.join(root, 'letters', 'old'), { recursive: true });
  writeFileSync(path.join(root, 'letters', 'to-anna.txt'), 'Dear Anna,\n'.repeat(500));
  writeFileSync(path.join(root, 'letters', 'old', 'résumé – 日本.txt'), 'non-ASCII name\n');
  writeFileSync(path.join(root, 'empty'), '');
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  writeFileSync(path.join(root, 'photo.raw'), big);
  chmodSync(path.join(root, 'photo.raw'), 0o640);
  symlinkSync('letters/to-anna.txt', path.join(root, 'link-to-anna'));
  return root;
}

/** Creates task `name` backing `source` up to `destination` (TYPE:LOCATION), unencrypted. */
export async function createTask(haven: HavenSandbox, name: string, source: string, destination: string): Promise<void> {
  const create = await haven.run(['task', 'create', name, '--source', source, '--dest', destination, '--no-encryption']);
  expect(create.code, create.stderr).to.equal(0);
}

/** Runs task `name`, restores the version it made into a fresh folder; expects `source` back unchanged. */
export async function expectRunAndRestore(haven: HavenSandbox, name: string, source: string): Promise<RunRecord> {
  const run = await haven.run(['run', name, '--json']);
  expect(run.code, run.stderr).to.equal(0);
  const record = JSON.parse(run.stdout) as RunRecord;
  expect(record.status).to.equal('success');
  const target = path.join(haven.root, `restored-${record.id}`);
  const restore = await haven.run(['restore', name, '--snapshot', record.snapshot!, '--to', target]);
  expect(restore.code, restore.stderr).to.equal(0);
  // The restore recreates the source's last folder under the target.
  expect(compareTrees(source, path.join(target, path.basename(source)))).to.deep.equal([]);
  return record;
}
