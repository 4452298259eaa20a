import type { Client } from 'openapi-fetch';
import type { components, paths } from '../generated/runtime.js';
import { data } from '../http.js';

export type Token = components['schemas']['Token'];
export type TokenCreated = components['schemas']['TokenCreated'];
export type Role = components['schemas']['Role'];

/** People's named tokens in the Agent Runtime: `ao.tokens` (an admin's). */
export class Tokens {
  constructor(private readonly client: Client<paths>) {}

  /** Every named token, by name (never the token itself). */
  async list(): Promise<Token[]> {
    return (await data(this.client.GET('/tokens'))).tokens;
  }

  /** A new token for a person with `role`; `token` is in this answer only. */
  create(name: string, role: Role): Promise<TokenCreated> {
    return data(this.client.POST('/tokens', { body: { name, role } }));
  }

  /** Revokes the token: refused from then on. */
  async revoke(name: string): Promise<void> {
    await data(this.client.DELETE('/tokens/{name}', { params: { path: { name } } }));
  }
}
