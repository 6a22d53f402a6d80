/**
 * `@haven/core` is the host: the `haven` command and what it runs. Its one public module for
 * plugin authors is the plugin API, published on its own as `@haven/plugin-api`; this entry and
 * `@haven/core/api` re-export it for plugins written before the split (API 1.0).
 */
export * from '@haven/plugin-api';
