/**
 * Haven's public plugin API. Types, plus the store error classes (conveniences: the contract
 * is their `code`, which a plugin may set on any Error), so a plugin can import everything with
 * `import type` and carry no runtime dependency on the core.
 *
 * Versioned by PLUGIN_API_VERSION (semver): a plugin states the range it needs in
 * `engines.haven`; minor versions only add.
 */
export const PLUGIN_API_VERSION = '1.2.0';

export * from './disposable.js';
export * from './storage.js';
export * from './store-errors.js';
export * from './list-helpers.js';
export * from './source.js';
export * from './records.js';
export * from './hooks.js';
export * from './plugin.js';
