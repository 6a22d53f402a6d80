/** Personal mode's transport: the services of this process, for this process's user. */
import type { Services } from '../cli/cli-context.js';
import { handle } from './api-handlers.js';
import type { CallOptions, HavenClient, Method, ParamsOf, ResultOf } from './haven-api.js';

export class InProcessClient implements HavenClient {
  constructor(private readonly services: () => Promise<Services>) {}

  async call<M extends Method>(method: M, params: ParamsOf<M>, options: CallOptions = {}): Promise<ResultOf<M>> {
    const s = await this.services();
    return handle(s, s.caller, method, params, options);
  }
}
