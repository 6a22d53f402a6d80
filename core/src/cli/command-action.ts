/**
 * Wraps a command's handler: its resolved value is the exit code, its error is reported as
 * one line with the contract's exit code. main.ts makes it; every command file uses it.
 */
export type CommandAction = <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) => (...args: A) => Promise<void>;
