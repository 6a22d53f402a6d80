/**
 * The user's credentials file (HavenPaths.credentialsFile: `HAVEN_CREDENTIALS_FILE`, else
 * `<state folder>/credentials.json`): values for the credentials storage providers declare,
 * for whoever would rather not keep them in the environment (a scheduled run has none).
 *
 *   {
 *     "s3": { "accessKeyId": "AKIA…", "secretAccessKey": "…" },
 *     "s3:bucket/photos": { "secretAccessKey": "…" }
 *   }
 *
 * A key is a destination type (its values serve every destination of that type) or a whole
 * destination `TYPE:LOCATION` (that destination only; its values win over the type's). Keys
 * name destinations, not tasks, because credentials belong to the place the data goes: two
 * tasks writing to one bucket share them. Values are strings.
 *
 * Like a password file, the file must be private (no group or other permission bits) and,
 * being the user's own, owned by the user; otherwise it is refused, never read.
 */
import { UsageError } from '../errors.js';
import { ownUid, readPrivateFile } from '../util/private-file.js';

/** Entry key → credential name → value. */
export type CredentialEntries = Record<string, Record<string, string>>;

/** One entry that applies to a destination. */
export interface ApplicableEntry {
  key: string;
  values: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the shape, naming the file and the entry at fault. */
function validate(file: string, json: unknown): CredentialEntries {
  if (!isObject(json)) throw new UsageError(`the credentials file ${file} must hold a JSON object of destination types (or TYPE:LOCATION) to credentials`);
  for (const [key, entry] of Object.entries(json)) {
    if (!isObject(entry)) throw new UsageError(`the credentials file ${file}: "${key}" must be an object of credential names to values`);
    for (const [name, value] of Object.entries(entry)) {
      // The value itself is never quoted back: it may be a secret put in the wrong place.
      if (typeof value !== 'string') throw new UsageError(`the credentials file ${file}: "${key}"."${name}" must be a string`);
    }
  }
  return json as CredentialEntries;
}

/** The file's entries, or undefined when there is no file. */
export async function readCredentialsFile(file: string): Promise<CredentialEntries | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readPrivateFile(file, { what: 'credentials file', owner: ownUid() });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read the credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    // JSON.parse's message may quote the text around the error: a secret. Say where, not what.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new UsageError(`the credentials file ${file} is not valid JSON${at ? ` (at character ${at})` : ''}`);
  }
  return validate(file, json);
}

/**
 * The entries that apply to a destination, most specific first: those naming the destination
 * (`TYPE:LOCATION`, the location compared by `sameLocation`, which normalises it the way the
 * provider does), then the type's own.
 */
export function entriesFor(entries: CredentialEntries, type: string, sameLocation: (location: string) => boolean): ApplicableEntry[] {
  const prefix = `${type}:`;
  const forDestination = Object.keys(entries).filter((key) => key.startsWith(prefix) && sameLocation(key.slice(prefix.length)));
  const keys = Object.hasOwn(entries, type) ? [...forDestination, type] : forDestination;
  return keys.map((key) => ({ key, values: entries[key] }));
}
