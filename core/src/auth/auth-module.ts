import { ContainerModule } from 'inversify';
import { Authorizer, Identity } from '../di/service-identifiers.js';
import type { Identity as IdentityValue } from './identity.js';
import { AuthorizerImpl } from './authorizer.js';

export const authModule = (identity: IdentityValue) =>
  new ContainerModule(({ bind }) => {
    bind(Identity).toConstantValue(identity);
    bind(Authorizer).to(AuthorizerImpl).inSingletonScope();
  });
