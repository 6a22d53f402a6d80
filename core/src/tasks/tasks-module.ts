import { ContainerModule } from 'inversify';
import { RepositoryOperations, RepositoryService, RunService, TaskService, TaskStore, WorkPlacement } from '../di/service-identifiers.js';
import { TaskStoreImpl } from './task-store.js';
import { TaskServiceImpl } from './task-service.js';
import { RepositoryServiceImpl } from './repository-access.js';
import { RunServiceImpl } from './run-service.js';
import { RepositoryOperationsImpl } from './repository-operations.js';
import { InProcessWork } from './repository-work.js';

export const tasksModule = new ContainerModule(({ bind }) => {
  bind(TaskStore).to(TaskStoreImpl).inSingletonScope();
  bind(TaskService).to(TaskServiceImpl).inSingletonScope();
  bind(RepositoryService).to(RepositoryServiceImpl).inSingletonScope();
  bind(RunService).to(RunServiceImpl).inSingletonScope();
  bind(RepositoryOperations).to(RepositoryOperationsImpl).inSingletonScope();
  // Personal mode: the work runs in this process (the user's own). The service rebinds it.
  bind(WorkPlacement).to(InProcessWork).inSingletonScope();
});
