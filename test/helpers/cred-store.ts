/**
 * The cred-store fixture plugin (test/fixtures/plugins/cred-store) in a sandbox: a folder
 * store that opens only with its token, keeps a session in context.secrets and logs what
 * each open received (names, never secret values) to a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_PLUGINS, havenSandbox, type HavenSandbox } from './haven-cli.js';

export const CRED_STORE_PLUGIN = path.join(FIXTURE_PLUGINS, 'cred-store');
export const TOKEN_ENV = 'HAVEN_TEST_CREDSTORE_TOKEN';
export const ACCOUNT_ENV = 'HAVEN_TEST_CREDSTORE_ACCOUNT';

/** One line of the fixture's log: what one `open` received and did. */
export interface OpenLine {
  names: string[];
  account: string | null;
  create: boolean;
  session: 'new' | 'remembered' | 'replaced' | 'refused';
  opens: number;
  storagePath: string;
}

export interface CredStoreSetup {
  haven: HavenSandbox;
  /** The state folder (HAVEN_HOME). */
  home: string;
  source: string;
  repo: string;
  destination: string;
  /** The token the store accepts: distinctive, so a grep for it finds only leaks. */
  token: string;
  /** The fixture's log lines so far. */
  opens(): OpenLine[];
}

/** Marks `repo` as a store account that accepts `token` (the fixture's "server side"). */
export function acceptToken(repo: string, token: string): void {
  writeFileSync(`${repo}.token-sha256`, createHash('sha256').update(token).digest('hex'));
}

export function credStoreSandbox(): CredStoreSetup {
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const haven = havenSandbox({ HAVEN_PLUGIN_PATH: CRED_STORE_PLUGIN });
  // The log goes in the sandbox, known only once it exists; every run reads haven.env afresh.
  const logFile = path.join(haven.root, 'cred-store.log');
  haven.env.HAVEN_TEST_CREDSTORE_LOG = logFile;
  const source = path.join(haven.root, 'documents');
  mkdirSync(source);
  writeFileSync(path.join(source, 'letter.txt'), 'dear reader\n');
  const repo = path.join(haven.root, 'repo');
  acceptToken(repo, token);
  return {
    haven,
    home: haven.env.HAVEN_HOME!,
    source,
    repo,
    destination: `credstore:${repo}`,
    token,
    opens: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as OpenLine) : []),
  };
}

/** Every file below `dir` whose bytes contain `needle`, as paths relative to `dir`. */
export function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (readFileSync(file).includes(needle)) found.push(path.relative(dir, file));
  }
  return found;
}
