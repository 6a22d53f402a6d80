/**
 * The credentials a storage provider gets in `OpenOptions.credentials`: for each credential
 * its manifest declares, the environment variable, else the user's credentials file (the
 * destination's entry, then the type's). Every opener of a destination (task runs and every
 * command that opens a task's repository, `haven plugins check`) goes through here, so they
 * all see the same values and the same errors.
 *
 * Values stay in memory: they are never logged (a `secret: false` value only with --debug),
 * never part of a task or a run record, never a process argument.
 */
import { inject, injectable } from 'inversify';
import type { CredentialDeclaration, StorageProvider } from '@haven/plugin-api';
import { HavenPaths as HavenPathsId, PluginHost as PluginHostId } from '../di/service-identifiers.js';
import type { HavenPaths } from '../config/haven-paths.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { CallerEnvironment } from '../auth/caller.js';
import { CredentialsMissingError } from '../errors.js';
import { debug, warn } from '../util/logger.js';
import { entriesFor, readCredentialsFile, type ApplicableEntry } from './credentials-file.js';

export interface ProviderCredentials {
  /**
   * The credentials for `open(location)` of this provider (location already normalised), or
   * undefined when its manifest declares none. Rejects with CredentialsMissingError when a
   * required one is given nowhere, with a UsageError when the credentials file is refused.
   * `env` is the caller's environment (their variables, not the service's).
   */
  forDestination(provider: StorageProvider, location: string, env: CallerEnvironment): Promise<Record<string, string> | undefined>;
}

/** Where each value came from, for --debug (never the value of a secret). */
type Origins = Map<string, string>;

export interface CredentialSources {
  env: CallerEnvironment;
  file: string;
}

/** Resolves declared credentials from the environment, then the file (read only if needed). */
export async function resolveCredentials(
  provider: StorageProvider,
  location: string,
  declared: readonly CredentialDeclaration[],
  sources: CredentialSources,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  // Own properties only: a credential may well be called "constructor".
  const given = (name: string): boolean => Object.hasOwn(values, name);
  const origins: Origins = new Map();
  for (const c of declared) {
    const value = sources.env[c.env];
    if (value) {
      values[c.name] = value;
      origins.set(c.name, c.env);
    }
  }
  // The file is read only when the environment leaves something out, so a variable can
  // stand in for a file that is (for now) refused, as HAVEN_PASSWORD does for a password file.
  let fileExists: boolean | undefined;
  if (declared.some((c) => !given(c.name))) {
    const entries = await readCredentialsFile(sources.file);
    fileExists = entries !== undefined;
    const applicable = entries ? entriesFor(entries, provider.type, sameLocationAs(provider, location)) : [];
    warnUndeclared(applicable, declared, provider.type, sources.file);
    for (const c of declared) {
      if (given(c.name)) continue;
      // An empty value counts as not given, as an empty variable does.
      const entry = applicable.find((e) => Object.hasOwn(e.values, c.name) && e.values[c.name]);
      if (!entry) continue;
      values[c.name] = entry.values[c.name];
      origins.set(c.name, `${sources.file} ("${entry.key}")`);
    }
  }
  const missing = declared.filter((c) => c.required !== false && !given(c.name));
  if (missing.length) throw new CredentialsMissingError(missingMessage(provider.type, location, missing, sources.file, fileExists));
  debug(`credentials for ${provider.type}:${location}: ${describeOrigins(declared, values, origins)}`);
  return values;
}

/** Whether a file key's location is this destination's, once normalised the provider's way. */
function sameLocationAs(provider: StorageProvider, location: string): (candidate: string) => boolean {
  return (candidate) => {
    try {
      return provider.validateLocation(candidate) === location;
    } catch {
      return false; // not a valid location of this type: it names no destination at all
    }
  };
}

/** A name the provider does not declare is most likely a typo of one it does. */
function warnUndeclared(applicable: ApplicableEntry[], declared: readonly CredentialDeclaration[], type: string, file: string): void {
  const names = new Set(declared.map((c) => c.name));
  for (const { key, values } of applicable) {
    for (const name of Object.keys(values).filter((n) => !names.has(n))) {
      warn(`the credentials file ${file}: "${key}"."${name}" is not a credential storage provider "${type}" declares (it declares: ${[...names].join(', ')}); it is ignored`);
    }
  }
}

function missingMessage(type: string, location: string, missing: CredentialDeclaration[], file: string, fileExists: boolean | undefined): string {
  const what = missing.map((c) => `"${c.name}" (${c.description})`).join(', ');
  const variables = missing.map((c) => c.env).join(', ');
  const names = missing.map((c) => `"${c.name}"`).join(', ');
  const plural = missing.length > 1 ? 's' : '';
  return (
    `storage provider "${type}" needs the credential${plural} ${what}, not given: ` +
    `set the environment variable${plural} ${variables}, or add ${names} to the "${type}" (or "${type}:${location}") entry of the credentials file ${file}` +
    (fileExists === false ? ' (which does not exist yet)' : '')
  );
}

function describeOrigins(declared: readonly CredentialDeclaration[], values: Record<string, string>, origins: Origins): string {
  return declared
    .map((c) => {
      if (!Object.hasOwn(values, c.name)) return `${c.name} not given (optional)`;
      const shown = c.secret === false ? ` = ${JSON.stringify(values[c.name])}` : '';
      return `${c.name}${shown} from ${origins.get(c.name)}`;
    })
    .join(', ');
}

@injectable()
export class ProviderCredentialsImpl implements ProviderCredentials {
  constructor(
    @inject(PluginHostId) private readonly plugins: PluginHost,
    @inject(HavenPathsId) private readonly paths: HavenPaths,
  ) {}

  async forDestination(provider: StorageProvider, location: string, env: CallerEnvironment): Promise<Record<string, string> | undefined> {
    const declared = (await this.plugins.storageContribution(provider.type))?.credentials ?? [];
    // A provider that declares nothing gets nothing, as under API 1.0: no file is read for it.
    if (!declared.length) return undefined;
    return resolveCredentials(provider, location, declared, { env, file: this.paths.credentialsFile });
  }
}
