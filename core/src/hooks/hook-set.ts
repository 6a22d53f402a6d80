/**
 * The core's hook set: one frozen object per family, each hook a tapable hook whose class
 * says how tap results combine. Only the core calls these; plugins tap them through the
 * PluginHooks facade (plugin-hooks.ts), which tags every tap with the plugin's id.
 */
import tapable from 'tapable';
import type {
  AuthRequest,
  ContentSource,
  RunRecord,
  RunRequest,
  ScanEntry,
  SourceClaim,
  Veto,
} from '@haven/plugin-api';

const { AsyncSeriesBailHook, AsyncSeriesHook, AsyncSeriesWaterfallHook } = tapable;

export function createHookSet() {
  return Object.freeze({
    scan: Object.freeze({
      /** Bail: the first handler to claim a source folder owns it. */
      claimSource: new AsyncSeriesBailHook<[string], SourceClaim | undefined>(['sourcePath']),
      /** Waterfall: handlers annotate each entry (only called when tapped: it is per entry). */
      annotateEntry: new AsyncSeriesWaterfallHook<[ScanEntry]>(['entry']),
    }),
    copy: Object.freeze({
      /** Bail: the first handler returning a ContentSource supplies an entry's bytes. */
      openContent: new AsyncSeriesBailHook<[ScanEntry], ContentSource | undefined>(['entry']),
      /** Series: before each file is read. */
      beforeFile: new AsyncSeriesHook<[ScanEntry]>(['entry']),
      /** Series: after each file is stored or failed. */
      afterFile: new AsyncSeriesHook<[ScanEntry, Error | undefined]>(['entry', 'error']),
    }),
    schedule: Object.freeze({
      /** Series: a run became due. */
      runDue: new AsyncSeriesHook<[RunRequest]>(['request']),
      /** Bail: a Veto stops the run (recorded as skipped with the reason). */
      shouldStartRun: new AsyncSeriesBailHook<[RunRequest], Veto | undefined>(['request']),
      /** Series: a run ended. */
      afterRun: new AsyncSeriesHook<[RunRecord]>(['record']),
    }),
    authorize: Object.freeze({
      /** Bail: a Veto denies the action. */
      shouldDeny: new AsyncSeriesBailHook<[AuthRequest], Veto | undefined>(['request']),
    }),
  });
}

export type HookSet = ReturnType<typeof createHookSet>;
export type ScanHookSet = HookSet['scan'];
export type CopyHookSet = HookSet['copy'];
