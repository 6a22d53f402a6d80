/**
 * The tap-only view of the hook set given to one plugin. Every tap is named after the
 * plugin, can be disposed (removed from the hook), and is guarded: a tap that throws is
 * recorded as the plugin's failure and the hook goes on as if the tap had no opinion —
 * except authorization, which fails closed (a broken guard denies).
 */
import type { Disposable, PluginHooks, Tappable, TapOptions, Veto } from '@haven/plugin-api';
import { toDisposable } from '@haven/plugin-api';
import type { HookSet } from './hook-set.js';

/** A failure of a plugin's tap, kept for `haven plugins info` and the logs. */
export interface TapFailure {
  pluginId: string;
  hook: string;
  message: string;
}

type AnyHook = {
  taps: Array<{ name: string; fn: unknown }>;
  tapPromise(options: { name: string; stage?: number }, fn: (...args: unknown[]) => Promise<unknown>): void;
};

/** How a failed tap answers, so the hook continues (or, for authorization, denies). */
type OnFailure = (args: unknown[], pluginId: string, message: string) => unknown;

const noOpinion: OnFailure = () => undefined;
const passThrough: OnFailure = (args) => args[0];
const denyOnFailure: OnFailure = (_args, pluginId, message): Veto => ({ by: pluginId, reason: `authorization check failed: ${message}` });

/** A tap that has not answered after this long is treated as failed (oclif's lesson). */
export const TAP_TIMEOUT_MS = 60_000;

function withTimeout<T>(value: T | Promise<T>, ms: number): T | Promise<T> {
  if (!(value instanceof Promise)) return value;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([value, timeout]).finally(() => clearTimeout(timer));
}

function removeTap(hook: AnyHook, fn: unknown): void {
  const index = hook.taps.findIndex((t) => t.fn === fn);
  if (index >= 0) hook.taps.splice(index, 1);
  // tapable compiles a caller from its taps; removing one means recompiling.
  (hook as unknown as { _resetCompilation?: () => void })._resetCompilation?.();
}

function tappable<Args extends unknown[], R>(
  hook: unknown,
  hookName: string,
  pluginId: string,
  onFailure: OnFailure,
  failures: TapFailure[],
  track: (d: Disposable) => void,
): Tappable<Args, R> {
  const target = hook as AnyHook;
  return {
    tap(fn: (...args: Args) => R | Promise<R>, options?: TapOptions): Disposable {
      const guarded = async (...args: unknown[]): Promise<unknown> => {
        try {
          return await withTimeout(fn(...(args as Args)), TAP_TIMEOUT_MS);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          failures.push({ pluginId, hook: hookName, message });
          return onFailure(args, pluginId, message);
        }
      };
      target.tapPromise({ name: pluginId, stage: options?.stage }, guarded);
      const disposable = toDisposable(() => removeTap(target, guarded));
      track(disposable);
      return disposable;
    },
  };
}

/** Builds the hooks facade for one plugin; `track` receives every tap's disposable. */
export function createPluginHooks(
  hooks: HookSet,
  pluginId: string,
  failures: TapFailure[],
  track: (d: Disposable) => void,
): PluginHooks {
  const t = <Args extends unknown[], R>(hook: unknown, name: string, onFailure: OnFailure) =>
    tappable<Args, R>(hook, name, pluginId, onFailure, failures, track);
  return Object.freeze({
    scan: Object.freeze({
      claimSource: t(hooks.scan.claimSource, 'scan.claimSource', noOpinion),
      annotateEntry: t(hooks.scan.annotateEntry, 'scan.annotateEntry', passThrough),
    }),
    copy: Object.freeze({
      openContent: t(hooks.copy.openContent, 'copy.openContent', noOpinion),
      beforeFile: t(hooks.copy.beforeFile, 'copy.beforeFile', noOpinion),
      afterFile: t(hooks.copy.afterFile, 'copy.afterFile', noOpinion),
    }),
    schedule: Object.freeze({
      runDue: t(hooks.schedule.runDue, 'schedule.runDue', noOpinion),
      shouldStartRun: t(hooks.schedule.shouldStartRun, 'schedule.shouldStartRun', noOpinion),
      afterRun: t(hooks.schedule.afterRun, 'schedule.afterRun', noOpinion),
    }),
    authorize: Object.freeze({
      shouldDeny: t(hooks.authorize.shouldDeny, 'authorize.shouldDeny', denyOnFailure),
    }),
  }) as PluginHooks;
}
