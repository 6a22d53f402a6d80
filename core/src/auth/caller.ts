/**
 * Who asks for an operation, and what they bring with it. The identity decides what they may
 * do; the environment carries what only the caller has — the repository password
 * (`HAVEN_PASSWORD`) and the credentials of storage providers (their declared variables). In
 * personal mode both are the CLI process's own; a service serving many users gets them per
 * request, so nothing below the CLI reads the service's own process environment for them.
 */
import type { Identity } from './identity.js';

export type CallerEnvironment = Readonly<Record<string, string | undefined>>;

export interface Caller extends Identity {
  readonly env: CallerEnvironment;
}

export function callerOf(identity: Identity, env: CallerEnvironment): Caller {
  return { ...identity, env };
}
