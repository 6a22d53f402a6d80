/**
 * `haven plugins check ID|PATH --location LOCATION [--json]`: runs the storage conformance kit
 * against a real location through the plugin's provider, loaded and opened the way a task
 * loads and opens it. Cases write only below a fresh `haven-conformance-<random>/` and delete
 * what they wrote, so a location holding a repository can be checked. A PATH (it has a `/`)
 * is a plugin folder, checked without installing it: looked in before every plugin folder.
 *
 * The provider's stores are checked as the provider returns them, not wrapped in the core's
 * RetryingBlobStore: the kit checks the provider's own contract (codes, signals), which
 * retries would hide.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { services } from '../cli-context.js';
import { printJson, printLines, type CommonOptions } from '../output.js';
import type { CommandAction } from '../command-action.js';
import type { PluginHost } from '../../plugins/plugin-host.js';
import type { ProviderCredentials } from '../../credentials/provider-credentials.js';
import type { CallerEnvironment } from '../../auth/caller.js';
import { ExitCode, SkippedError, UsageError } from '../../errors.js';
import { checkPluginPackage } from '../../plugins/install/package-check.js';
import { formatCase, formatSummary, runConformance, runPrefix, type CaseResult, type ConformanceResult } from '@haven/plugin-api/conformance';

export interface PluginStoreCheck extends ConformanceResult {
  plugin: string;
  destination: string;
  /** Where the cases wrote (and cleaned up after themselves). */
  prefix: string;
}

/** The provider type of `id` the location is for: the plugin's only one, or the TYPE of TYPE:LOCATION. */
async function providerTypeOf(host: PluginHost, id: string, location: string): Promise<{ type: string; location: string }> {
  const info = await host.info(id);
  // A conflicting or shadowed plugin's types belong to another plugin: checking would check that one.
  if (info.state === 'conflict' || info.state === 'shadowed') throw new UsageError(`plugin "${id}" cannot be checked: ${info.reason}`);
  const types = info.storageProviders.map((p) => p.type);
  if (!types.length) throw new UsageError(`plugin "${id}" contributes no storage provider: there is nothing to check`);
  const typed = types.find((t) => location.startsWith(`${t}:`));
  if (typed) return { type: typed, location: location.slice(typed.length + 1) };
  if (types.length > 1) throw new UsageError(`plugin "${id}" contributes several storage providers (${types.join(', ')}): give the location as TYPE:LOCATION`);
  return { type: types[0], location };
}

/** `--large`: the full-size run (a 300 MB blob), for providers about to ship. */
export const LARGE_BLOB_BYTES = 300_000_000;

export async function checkPluginStore(
  host: PluginHost,
  credentials: ProviderCredentials,
  env: CallerEnvironment,
  id: string,
  rawLocation: string,
  onResult?: (c: CaseResult) => void,
  settings: { largeBytes?: number } = {},
): Promise<PluginStoreCheck> {
  const { type, location } = await providerTypeOf(host, id, rawLocation);
  const provider = await host.storageProvider(type);
  let normalised: string;
  try {
    normalised = provider.validateLocation(location);
  } catch (err) {
    throw new UsageError(`location "${location}": ${(err as Error).message}`);
  }
  const destination = `${type}:${normalised}`;
  const availability = await provider.checkAvailability(normalised);
  if (!availability.available) throw new SkippedError(`destination ${destination} is not available: ${availability.reason}`);
  // Resolved once, as a run does: every case's open gets the same credentials.
  const given = await credentials.forDestination(provider, normalised, env);
  const prefix = runPrefix();
  const result = await runConformance(() => provider.open(normalised, { create: true, credentials: given }), { prefix, onResult, ...settings });
  return { plugin: id, destination, prefix, ...result };
}

/** The id of the plugin in folder `dir`, refused as `plugins install` would refuse it. */
function pluginIdIn(dir: string): string {
  let text: string | undefined;
  try {
    text = readFileSync(path.join(dir, 'package.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${dir}: not a plugin folder (${(err as Error).message})`);
  }
  return checkPluginPackage(text, (file) => existsSync(path.join(dir, file)), dir).pkg.haven.id;
}

export function registerPluginCheckCommand(plugins: Command, action: CommandAction): void {
  plugins.command('check <id|path>').description("run the storage conformance kit against a location of the plugin's provider (writes only below haven-conformance-*/, and removes it); a PATH (with a /) is a plugin folder, checked without installing it")
    .requiredOption('--location <location>', 'where to check, e.g. /tmp/haven-check (TYPE:LOCATION when the plugin has several providers)')
    .option('--large', 'round-trip a 300 MB blob instead of 64 MiB (slower; before releasing a provider)')
    .option('--json', 'print JSON')
    .action(action(async (idOrPath: string, o: CommonOptions & { location: string; large?: boolean }) => {
      const folder = idOrPath.includes('/') || idOrPath === '.' || idOrPath === '..' ? path.resolve(idOrPath) : undefined;
      const id = folder ? pluginIdIn(folder) : idOrPath;
      const s = await services({ pluginFolderFirst: folder });
      const check = await checkPluginStore(s.plugins, s.credentials, s.caller.env, id, o.location, o.json ? undefined : (c) => printLines([formatCase(c)]), o.large ? { largeBytes: LARGE_BLOB_BYTES } : {});
      if (o.json) printJson(check);
      else printLines([formatSummary(check)]);
      return check.failed ? ExitCode.FAILED : ExitCode.SUCCESS;
    }));
}
