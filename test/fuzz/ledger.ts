import { isDeepStrictEqual } from 'node:util';
import { contractOperations, operationAt, type Api } from './contract-operations.js';
import type { FuzzRequest } from './requests.js';
import type { FuzzResponse } from './sender.js';

/**
 * Everything the servers acknowledged (each 2xx write), to check afterwards, and after restarts,
 * that it is all still there with the same content and that nothing deleted came back.
 */
export class Ledger {
  readonly sessions = new Map<string, { session: any; events: any[]; claudeId: string | null }>();
  readonly agents = new Map<string, { agent: any; uncertainTime: boolean }>();
  acknowledged = 0;
  private readonly operations = contractOperations();

  /**
   * Applies the answers to one request (several when it was sent as concurrent duplicates, in the
   * order they arrived). Returns violations of what duplicates may do (two creations of one name).
   */
  apply(req: FuzzRequest, responses: FuzzResponse[]): string[] {
    // A mutated method or path may have reached another operation, or none.
    const reached = req.op === 'raw' ? undefined : operationAt(this.operations, req.api, req.method, req.target);
    if (!reached) return [];
    const op = reached.op.operationId;
    const ok = responses.filter((r) => r.status >= 200 && r.status < 300);
    if (op === 'createSession' || op === 'createAgent') {
      if (ok.length > 1) return [`${ok.length} of ${responses.length} concurrent ${op} of one name were acknowledged`];
    }
    for (const res of ok) this.applyOne(op, reached.params.name, req.method, res, ok.length > 1);
    return [];
  }

  private applyOne(
    op: string,
    pathName: string | undefined,
    method: string,
    res: FuzzResponse,
    concurrent: boolean,
  ): void {
    const name = pathName ?? '';
    const body = res.json;
    switch (op) {
      case 'createSession':
        this.sessions.set(body.name, { session: body, events: [], claudeId: body.claude_session_id });
        break;
      case 'resumeSession':
      case 'stopSession':
      case 'getSession': {
        const entry = this.sessions.get(name);
        // A session the ledger does not know was never acknowledged: verify() reports it.
        if (entry) Object.assign(entry, { session: body, claudeId: body.claude_session_id });
        break;
      }
      case 'appendSessionEvents': {
        const entry = this.sessions.get(name);
        if (!entry) break;
        entry.events.push(...body.events);
        for (const event of body.events)
          if (event.type === 'session_start' && event.data.claude_session_id)
            entry.claudeId = event.data.claude_session_id;
        break;
      }
      case 'deleteSession':
        this.sessions.delete(name);
        break;
      case 'deleteAllSessions':
      case 'pruneSessions':
        for (const deleted of body.deleted) this.sessions.delete(deleted);
        break;
      case 'createAgent':
      case 'updateAgent':
      case 'setAgentStatus':
      case 'getAgent':
        this.agents.set(body.name, { agent: body, uncertainTime: concurrent });
        break;
      case 'deleteAgent':
        this.agents.delete(name);
        break;
      default:
        return;
    }
    if (method !== 'GET') this.acknowledged++;
  }

  /**
   * After a burst of racing requests on one session or blueprint, which of them won is not for the
   * ledger to guess: it takes what the server holds now, and checks from there on.
   */
  async resync(api: Api, name: string, baseUrl: string, token: string): Promise<void> {
    const headers = { authorization: `Bearer ${token}` };
    const path = `${baseUrl}/${api === 'runtime' ? 'sessions' : 'agents'}/${name}`;
    const res = await fetch(path, { headers });
    if (res.status === 404) {
      if (api === 'runtime') this.sessions.delete(name);
      else this.agents.delete(name);
      return;
    }
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as any;
    if (api === 'registry') {
      this.agents.set(name, { agent: body, uncertainTime: false });
      return;
    }
    const { events } = (await (await fetch(`${path}/events?limit=1000`, { headers })).json()) as any;
    this.sessions.set(name, { session: body, events, claudeId: body.claude_session_id });
  }

  /**
   * Compares the ledger with what the servers hold now. `stable` says whether run states and the
   * conversation id can still move (a local executor runs agents; executor `none` does not).
   */
  async verify(dump: Dump, options: { stable: boolean }): Promise<string[]> {
    const problems = [
      ...presence('session', dump.sessions, this.sessions),
      ...presence('agent', dump.agents, this.agents),
    ];
    for (const [name, expected] of this.sessions) {
      const actual = dump.sessions[name];
      if (!actual) continue;
      for (const field of ['name', 'agent', 'blueprint', 'project_dir', 'created_at']) {
        if (!isDeepStrictEqual(actual.session[field], expected.session[field])) {
          problems.push(
            `session '${name}': ${field} is ${JSON.stringify(actual.session[field])?.slice(0, 200)}, was acknowledged as ${JSON.stringify(expected.session[field])?.slice(0, 200)}`,
          );
        }
      }
      const prompts = (s: any) => s.runs.map((r: any) => `${r.number}:${r.prompt}`);
      if (!isDeepStrictEqual(prompts(actual.session), prompts(expected.session))) {
        problems.push(
          `session '${name}': runs ${JSON.stringify(prompts(actual.session)).slice(0, 300)}, acknowledged ${JSON.stringify(prompts(expected.session)).slice(0, 300)}`,
        );
      }
      if (options.stable && actual.session.claude_session_id !== expected.claudeId) {
        problems.push(
          `session '${name}': claude_session_id ${actual.session.claude_session_id}, acknowledged ${expected.claudeId}`,
        );
      }
      const bySeq = new Map(actual.events.map((e: any) => [e.seq, e]));
      for (const event of expected.events) {
        if (!isDeepStrictEqual(bySeq.get(event.seq), event)) {
          problems.push(
            `session '${name}': acknowledged event ${event.seq} (${event.type}) is ${bySeq.has(event.seq) ? 'changed' : 'gone'}`,
          );
        }
      }
    }
    for (const [name, expected] of this.agents) {
      const actual = dump.agents[name];
      const strip = (a: any) => (expected.uncertainTime ? { ...a, modified_at: undefined } : a);
      if (actual && !isDeepStrictEqual(strip(actual), strip(expected.agent))) {
        problems.push(
          `agent '${name}' is ${JSON.stringify(actual).slice(0, 300)}, acknowledged ${JSON.stringify(expected.agent).slice(0, 300)}`,
        );
      }
    }
    return problems.slice(0, 50);
  }
}

/** What exists that was never acknowledged, and what was acknowledged that is gone. */
function presence(kind: string, held: Record<string, unknown>, acknowledged: Map<string, unknown>): string[] {
  return [
    ...Object.keys(held)
      .filter((name) => !acknowledged.has(name))
      .map((name) => `${kind} '${name}' exists but was never created or was deleted`),
    ...[...acknowledged.keys()].filter((name) => !held[name]).map((name) => `acknowledged ${kind} '${name}' is gone`),
  ];
}

/** Everything both servers hold, read through their APIs. */
export interface Dump {
  sessions: Record<string, { session: any; events: any[] }>;
  agents: Record<string, any>;
}

export async function dumpServers(runtimeUrl: string, registryUrl: string, token: string): Promise<Dump> {
  const get = async (url: string) => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const dump: Dump = { sessions: {}, agents: {} };
  // The list gives summaries, page by page; the whole session is its own read.
  const names: string[] = [];
  for (let cursor: string | null = null; ; ) {
    const page: any = await get(
      `${runtimeUrl}/sessions?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    names.push(...page.sessions.map((s: any) => s.name));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  for (const name of names) {
    const session = await get(`${runtimeUrl}/sessions/${name}`);
    const events: any[] = [];
    for (let after = 0; ; ) {
      const page = await get(`${runtimeUrl}/sessions/${session.name}/events?after=${after}&limit=1000`);
      events.push(...page.events);
      if (!page.has_more || !page.events.length) break;
      after = page.events[page.events.length - 1].seq;
    }
    // A run still going counts its wall time up to now: the one figure that moves by itself (a run an
    // outside executor reported started, with no executor here to end it, goes on across a restart).
    if (session.totals && (session.state === 'running' || session.state === 'queued')) session.totals.wall_ms = 0;
    dump.sessions[session.name] = { session, events };
  }
  for (const agent of (await get(`${registryUrl}/agents`)).agents) dump.agents[agent.name] = agent;
  return dump;
}
