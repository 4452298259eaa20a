/**
 * People's named tokens, each with a role (admin, operator, viewer). Only the SHA-256 of a token is
 * stored; the token itself is shown once, when it is made. AGENT_ORCHESTRATOR_API_TOKEN (or the data
 * dir's token) is the admin that makes the others.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { components } from '../../sdk/generated/runtime.js';
import { NAMED_TOKEN_PREFIX, type Principal } from '../common/http/principal.js';
import { conflict, notFound } from '../common/contract/problem.js';
import type { StoredToken, TokenRole, TokenStore } from './store/interfaces.js';

export type Token = components['schemas']['Token'];

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
const publicView = ({ hash, ...token }: StoredToken): Token => token;

export class Tokens {
  constructor(private readonly store: TokenStore) {}

  async create(name: string, role: TokenRole): Promise<Token & { token: string }> {
    const token = `${NAMED_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const stored: StoredToken = { name, role, hash: hashOf(token), created_at: new Date().toISOString() };
    if (!(await this.store.insert(stored)))
      throw conflict(`A token named '${name}' exists already; revoke it first or choose another name`);
    return { ...publicView(stored), token };
  }

  async list(): Promise<Token[]> {
    return (await this.store.list()).map(publicView);
  }

  async revoke(name: string): Promise<void> {
    if (!(await this.store.delete(name))) throw notFound(`No token named '${name}'`);
  }

  /** Who a named token is (a person, or a runner), when it is one that has not been revoked. */
  async principalOf(credential: string): Promise<Principal | undefined> {
    if (!credential.startsWith(NAMED_TOKEN_PREFIX)) return undefined;
    return this.principalOfHash(hashOf(credential));
  }

  /** Who the named token with this SHA-256 (hex) is, when it has not been revoked. */
  async principalOfHash(hash: string): Promise<Principal | undefined> {
    const found = await this.store.findByHash(hash);
    if (!found) return undefined;
    return found.role === 'runner'
      ? { kind: 'runner', name: found.name }
      : { kind: 'person', name: found.name, role: found.role };
  }
}
