/** `@haven/core/conformance`: the conformance kit, re-exported from `@haven/plugin-api/conformance`. */
export * from '@haven/plugin-api/conformance';
