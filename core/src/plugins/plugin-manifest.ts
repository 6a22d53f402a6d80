/**
 * Reading and validating a plugin's manifest: the `haven` field, `name`, `version`, `main`
 * and `engines.haven` of its package.json. Read without running any plugin code. Errors name
 * the file and the field.
 */
import { Ajv, type ErrorObject } from 'ajv';
import semver from 'semver';
import { PLUGIN_API_VERSION, type PluginManifest } from '@haven/plugin-api';

export interface PluginPackage {
  name: string;
  version: string;
  main: string;
  engines: { haven: string };
  haven: PluginManifest;
}

const ID = '^[a-z][a-z0-9-]{0,63}$';
/** What a plugin id (and a provider type) must look like. */
export const PLUGIN_ID_PATTERN = new RegExp(ID);
const contribution = (key: 'type' | 'id') => ({
  type: 'object',
  required: [key, 'description'],
  additionalProperties: false,
  properties: {
    [key]: { type: 'string', pattern: ID },
    description: { type: 'string', minLength: 1 },
    available: { type: 'boolean' },
  },
});

/** Haven's own variables: never a provider's credential (HAVEN_PASSWORD would hand it the repository password). */
const HOST_VARIABLES = new Set([
  'HAVEN_PASSWORD',
  'HAVEN_HOME',
  'HAVEN_SYSTEM_DIR',
  'HAVEN_SYSTEM_PLUGIN_DIR',
  'HAVEN_PLUGIN_PATH',
  'HAVEN_CREDENTIALS_FILE',
  'HAVEN_DEBUG',
  'HAVEN_SOCKET',
]);

/** A storage provider's declared credentials (API 1.1.0): see CredentialDeclaration. */
const credentials = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'env', 'description'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: '^[a-z][a-zA-Z0-9_]{0,63}$' },
      env: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,127}$' },
      description: { type: 'string', minLength: 1 },
      secret: { type: 'boolean' },
      required: { type: 'boolean' },
    },
  },
};
/** A storage provider contribution: a contribution that may also declare credentials. */
const base = contribution('type');
const storageProvider = { ...base, properties: { ...base.properties, credentials } };

const schema = {
  type: 'object',
  required: ['name', 'version', 'engines', 'haven'],
  properties: {
    name: { type: 'string', minLength: 1 },
    version: { type: 'string', minLength: 1 },
    main: { type: 'string', minLength: 1 },
    engines: {
      type: 'object',
      required: ['haven'],
      properties: { haven: { type: 'string', minLength: 1 } },
    },
    haven: {
      type: 'object',
      required: ['id', 'displayName', 'contributes', 'activationEvents'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', pattern: ID },
        displayName: { type: 'string', minLength: 1 },
        description: { type: 'string' },
        contributes: {
          type: 'object',
          additionalProperties: false,
          properties: {
            storageProviders: { type: 'array', items: storageProvider },
            sourceHandlers: { type: 'array', items: contribution('id') },
          },
        },
        activationEvents: {
          type: 'array',
          items: { type: 'string', pattern: '^(onStartup|onRun|onStorageProvider:[a-z][a-z0-9-]*|onSourceHandler:[a-z][a-z0-9-]*)$' },
        },
      },
    },
  },
};

const ajv = new Ajv({ allErrors: true, verbose: true });
const validate = ajv.compile(schema);

function describe(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
  if (error.keyword === 'required') return `${where === '(top level)' ? '' : `${where}.`}${error.params.missingProperty}: is required`;
  if (error.keyword === 'additionalProperties') return `${where}: unknown field "${error.params.additionalProperty}"`;
  if (error.keyword === 'pattern') return `${where}: "${String(error.data)}" is not valid (expected ${error.params.pattern})`;
  return `${where}: ${error.message}`;
}

/** Validates a parsed package.json; returns the package or the list of problems. */
export function validatePluginPackage(json: unknown): { ok: true; pkg: PluginPackage } | { ok: false; problems: string[] } {
  if (!validate(json)) {
    return { ok: false, problems: (validate.errors ?? []).map(describe) };
  }
  const pkg = json as unknown as PluginPackage;
  const problems: string[] = [];
  if (!semver.valid(pkg.version)) problems.push(`version: "${pkg.version}" is not a semantic version`);
  if (!semver.validRange(pkg.engines.haven)) problems.push(`engines.haven: "${pkg.engines.haven}" is not a semver range`);
  const types = pkg.haven.contributes.storageProviders?.map((p) => p.type) ?? [];
  const duplicates = types.filter((t, i) => types.indexOf(t) !== i);
  if (duplicates.length > 0) problems.push(`haven.contributes.storageProviders: type "${duplicates[0]}" is listed twice`);
  for (const provider of pkg.haven.contributes.storageProviders ?? []) {
    const names = provider.credentials?.map((c) => c.name) ?? [];
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) problems.push(`haven.contributes.storageProviders: credential "${twice}" of type "${provider.type}" is listed twice`);
    // A provider must not be handed the repository password or Haven's own settings.
    for (const c of provider.credentials ?? []) {
      if (HOST_VARIABLES.has(c.env)) problems.push(`haven.contributes.storageProviders: credential "${c.name}" of type "${provider.type}" uses ${c.env}, a variable of Haven itself`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, pkg: { ...pkg, main: pkg.main ?? 'index.js' } };
}

/**
 * Why this host cannot load a plugin needing API `range` (its engines.haven), or undefined when
 * it can. One wording for the plugin list and for `plugins install`, which refuses such a plugin.
 */
export function apiIncompatibility(range: string): string | undefined {
  if (semver.satisfies(PLUGIN_API_VERSION, range, { includePrerelease: true })) return undefined;
  return `needs Haven plugin API ${range}, but this Haven provides ${PLUGIN_API_VERSION}`;
}
