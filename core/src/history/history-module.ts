import { ContainerModule } from 'inversify';
import { RunHistory } from '../di/service-identifiers.js';
import { RunHistoryImpl } from './run-history.js';

export const historyModule = new ContainerModule(({ bind }) => {
  bind(RunHistory).to(RunHistoryImpl).inSingletonScope();
});
