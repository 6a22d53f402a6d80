/**
 * Access rules of product.md, "Access rights", plus the authorize hook: the built-in rules
 * decide first, then any plugin tap may still deny. The operating system enforces the same
 * rules underneath (runs and restores execute with the caller's rights).
 */
import { inject, injectable } from 'inversify';
import type { AuthAction, AuthRequest } from '@haven/plugin-api';
import { HookSetId, PluginHost as PluginHostId } from '../di/service-identifiers.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { HookSet } from '../hooks/hook-set.js';
import { DeniedError } from '../errors.js';
import type { Identity } from './identity.js';
import type { Task } from '../tasks/task.js';

export interface Authorizer {
  /** Throws DeniedError (exit 5) with the reason when `user` may not do `action`. */
  require(user: Identity, action: AuthAction, task?: Task, target?: string): Promise<void>;
  /** Whether `user` may see `task` at all (for listings). */
  canSee(user: Identity, task: Task): boolean;
}

/** The built-in rule; returns a reason to deny, or undefined. */
export function builtInRule(user: Identity, action: AuthAction, task?: Task): string | undefined {
  const own = !task || task.owner === null || task.owner.uid === user.uid;
  switch (action) {
    case 'plugins.manage':
      return user.isAdmin ? undefined : 'only an administrator can enable or disable plugins, or install and uninstall them for every user (--system)';
    case 'task.create':
      return undefined;
    case 'task.read':
    case 'task.run':
    case 'restore':
      return own || user.isAdmin ? undefined : `task "${task!.name}" belongs to ${task!.owner!.name}`;
    case 'task.modify':
    case 'task.delete':
      // Administrators see every task but never change another user's.
      return own ? undefined : `task "${task!.name}" belongs to ${task!.owner!.name}; only its owner can change it`;
  }
}

@injectable()
export class AuthorizerImpl implements Authorizer {
  constructor(
    @inject(HookSetId) private readonly hooks: HookSet,
    @inject(PluginHostId) private readonly plugins: PluginHost,
  ) {}

  canSee(user: Identity, task: Task): boolean {
    return builtInRule(user, 'task.read', task) === undefined;
  }

  async require(user: Identity, action: AuthAction, task?: Task, target?: string): Promise<void> {
    const reason = builtInRule(user, action, task);
    if (reason) throw new DeniedError(`denied: ${reason}`);
    // Plugins with rules of their own tap this hook from `onStartup`: they must be active
    // before any operation is allowed, not only once a run has started.
    await this.plugins.activateOnStartup();
    if (!this.hooks.authorize.shouldDeny.isUsed()) return;
    const request: AuthRequest = {
      action,
      user: { uid: user.uid, name: user.name, isAdmin: user.isAdmin },
      taskId: task?.id,
      taskOwnerUid: task ? (task.owner?.uid ?? null) : undefined,
      target,
    };
    const veto = await this.hooks.authorize.shouldDeny.promise(request);
    if (veto) throw new DeniedError(`denied by ${veto.by}: ${veto.reason}`);
  }
}
