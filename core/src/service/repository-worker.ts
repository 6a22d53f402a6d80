/**
 * The module a per-user worker loads (worker-placement.ts): it builds a container as the
 * run-as user, performs one piece of repository work in-process, and streams its progress (and
 * a backup's version id, as soon as it exists) back to the service.
 */
import 'reflect-metadata';
import { createHavenContainer } from '../di/container.js';
import { PluginHost as PluginHostId, WorkPlacement as WorkPlacementId } from '../di/service-identifiers.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { BackupProgress } from '../engine/index.js';
import { withMessageSink } from '../util/logger.js';
import type { WorkPlacement, WorkRequest } from '../tasks/repository-work.js';

export interface WorkerInput {
  request: WorkRequest;
}

export type WorkerEvent = { t: 'progress'; progress: BackupProgress } | { t: 'snapshot'; id: string } | { t: 'message'; line: string };

export function work(input: WorkerInput, emit: (event: WorkerEvent) => void, signal: AbortSignal): Promise<unknown> {
  // The work's warnings reach the user who asked, not the service's log.
  return withMessageSink((line) => emit({ t: 'message', line }), () => perform(input, emit, signal));
}

async function perform(input: WorkerInput, emit: (event: WorkerEvent) => void, signal: AbortSignal): Promise<unknown> {
  const container = await createHavenContainer(process.env);
  try {
    // The worker's own container works in-process: it is the user's process already.
    return await container.get<WorkPlacement>(WorkPlacementId).perform(input.request, {
      signal,
      onProgress: (progress) => emit({ t: 'progress', progress }),
      onSnapshotSaved: (id) => emit({ t: 'snapshot', id }),
    });
  } finally {
    await container.get<PluginHost>(PluginHostId).deactivateAll().catch(() => undefined);
  }
}
