import { expect } from 'chai';
import { builtInRule } from '#core/auth/authorizer.js';
import type { Identity } from '#core/auth/identity.js';
import type { Task } from '#core/tasks/task.js';

const user = (uid: number, isAdmin = false): Identity => ({ uid, gid: uid, name: `user${uid}`, groups: [], isAdmin });
const task = (owner: number | null): Task => ({
  id: 't', name: 'docs', owner: owner === null ? null : { uid: owner, name: `user${owner}` },
  sources: ['/home/x'], excludes: [], destination: 'local:/b', schedule: 'manual', retention: {}, encryption: 'none',
  createdAt: '', updatedAt: '',
});

describe('access rules', () => {
  it('a user sees, runs, restores and changes only their own tasks', () => {
    for (const action of ['task.read', 'task.run', 'restore', 'task.modify', 'task.delete'] as const) {
      expect(builtInRule(user(1000), action, task(1000)), action).to.equal(undefined);
      expect(builtInRule(user(1000), action, task(1001)), action).to.contain('belongs to user1001');
    }
  });

  it('an administrator sees, runs and restores every task but changes none of another user', () => {
    const admin = user(0, true);
    for (const action of ['task.read', 'task.run', 'restore'] as const) expect(builtInRule(admin, action, task(1001))).to.equal(undefined);
    for (const action of ['task.modify', 'task.delete'] as const) expect(builtInRule(admin, action, task(1001))).to.contain('only its owner can change it');
  });

  it('legacy tasks (no owner) are available to every user', () => {
    for (const action of ['task.read', 'task.run', 'restore', 'task.modify', 'task.delete'] as const) {
      expect(builtInRule(user(1002), action, task(null))).to.equal(undefined);
    }
  });

  it('only administrators manage plugins', () => {
    expect(builtInRule(user(1000), 'plugins.manage')).to.contain('only an administrator');
    expect(builtInRule(user(0, true), 'plugins.manage')).to.equal(undefined);
  });
});
