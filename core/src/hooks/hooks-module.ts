import { ContainerModule } from 'inversify';
import { HookSetId } from '../di/service-identifiers.js';
import { createHookSet } from './hook-set.js';

export const hooksModule = new ContainerModule(({ bind }) => {
  bind(HookSetId).toConstantValue(createHookSet());
});
