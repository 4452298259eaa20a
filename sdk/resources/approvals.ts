import type { Client } from 'openapi-fetch';
import type { paths } from '../generated/runtime.js';
import { data } from '../http.js';
import type { Approval, ApprovalAsk, ApprovalState } from '../types.js';

const APPROVAL_ID = /^apr_[A-Za-z0-9]+$/;

/**
 * Approval requests in the Agent Runtime: `ao.approvals`. An agent in approval mode (its blueprint
 * has an `approval` policy) asks before each tool use its permission rules do not settle, and waits.
 */
export class Approvals {
  constructor(private readonly client: Client<paths>) {}

  /** Requests, oldest first; e.g. `{ state: 'pending' }` for those waiting for an answer. */
  async list(options: { state?: ApprovalState | undefined; session?: string | undefined } = {}): Promise<Approval[]> {
    const query = {
      ...(options.state ? { state: options.state } : {}),
      ...(options.session ? { session: options.session } : {}),
    };
    return (await data(this.client.GET('/approvals', { params: { query } }))).approvals;
  }

  /** One request; with `waitSeconds` (at most 60), the server holds a pending one until it is answered or the time is up. */
  get(id: string, options: { waitSeconds?: number } = {}): Promise<Approval> {
    const query = options.waitSeconds ? { wait: options.waitSeconds } : {};
    return data(this.client.GET('/approvals/{id}', { params: { path: { id }, query } }));
  }

  /**
   * The request with this id (`apr_...`), or else the oldest pending request of the session with this
   * name (null when it has none): how `ao-approve NAME|ID` finds what to answer. A NotFoundError when
   * there is no such request or session.
   */
  async find(idOrSession: string): Promise<Approval | null> {
    if (APPROVAL_ID.test(idOrSession)) return this.get(idOrSession);
    await data(this.client.GET('/sessions/{name}', { params: { path: { name: idOrSession } } }));
    const [oldest] = await this.list({ session: idOrSession, state: 'pending' });
    return oldest ?? null;
  }

  /** Lets the agent use the tool. A ConflictError when the request was already answered. */
  approve(id: string): Promise<Approval> {
    return data(
      this.client.POST('/approvals/{id}/answer', { params: { path: { id } }, body: { decision: 'approve' } }),
    );
  }

  /** Refuses the tool use; `message` reaches the model, which can change course. */
  deny(id: string, options: { message?: string | undefined } = {}): Promise<Approval> {
    const body = { decision: 'deny' as const, ...(options.message ? { message: options.message } : {}) };
    return data(this.client.POST('/approvals/{id}/answer', { params: { path: { id } }, body }));
  }

  /** What the permission tool calls: asks (or asks again, by `tool_use_id`) for the session's active run. */
  ask(session: string, input: ApprovalAsk): Promise<Approval> {
    return data(this.client.POST('/sessions/{name}/approvals', { params: { path: { name: session } }, body: input }));
  }
}
