/**
 * A plugin package as npm ships it: a gzipped tarball whose files sit below one top folder
 * (`package/`). The installer reads its manifest from the tarball itself, so nothing reaches a
 * plugin folder before the package is known to be a plugin this Haven can load.
 */
import * as path from 'node:path';
import * as tar from 'tar';
import type { ReadEntry } from 'tar';
import { UsageError } from '../../errors.js';
import { runNpm } from './npm.js';

export interface TarballContents {
  /** File paths below the top folder, `/`-separated. */
  files: Set<string>;
  /** The text of its package.json, when it has one. */
  packageJson?: string;
}

/** The path below the tarball's top folder (`package/dist/index.js` → `dist/index.js`). */
function inPackage(entryPath: string): string {
  return entryPath.split('/').slice(1).join('/');
}

/** Packs a plugin folder as `npm pack` does (its `files` field, its .npmignore); returns the tarball. */
export async function packFolder(folder: string, into: string): Promise<string> {
  // --ignore-scripts: installing must not run the package's own code (build it first).
  const out = await runNpm(['pack', '--json', '--ignore-scripts', '--pack-destination', into], folder, `packing ${folder}`);
  const [packed] = JSON.parse(out) as Array<{ filename: string }>;
  return path.join(into, packed.filename);
}

export function readTarball(file: string): TarballContents {
  const contents: TarballContents = { files: new Set() };
  try {
    tar.t({
      file,
      sync: true,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const rel = inPackage(entry.path);
        if (entry.type !== 'File' || !rel) return;
        contents.files.add(rel);
        if (rel !== 'package.json') return;
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => (contents.packageJson = Buffer.concat(chunks).toString('utf8')));
      },
    });
  } catch (err) {
    throw new UsageError(`${file} is not a package tarball (.tgz): ${(err as Error).message}`);
  }
  return contents;
}

/**
 * Unpacks the tarball's top folder into `dir`; node-tar refuses paths that would leave it. The
 * files belong to whoever installs (root included: a tarball's owners must not become owners of
 * code every user loads).
 */
export async function extractTarball(file: string, dir: string): Promise<void> {
  await tar.x({ file, cwd: dir, strip: 1, strict: true, preserveOwner: false });
}
