/**
 * The queries of the session services: sessions as the contract shows them, pages of the list, trees,
 * states (waiting for a run to end), results, events and usage. Reads only; what writes is in
 * session-service.ts, under the unit of work (unit-of-work.ts).
 */
import type { components } from '../../sdk/generated/runtime.js';
import { conflict, invalid, notFound } from '../common/contract/problem.js';
import type { LiveUsage } from './run-figures.js';
import type { SessionBus } from './session-bus.js';
import {
  isFinal,
  lastRun,
  toSession,
  toSummary,
  type Event,
  type RunState,
  type Session,
  type StoredSession,
} from './session-store.js';
import { resultJson } from './structured-output.js';
import { buildTree, childrenIndex, descendantsOf, type SessionTree } from './tree.js';
import { usageReport, type UsageFilter, type UsageReport } from './usage-report.js';
import type { SessionFilter } from './store/catalogue.js';
import { BadCursorError, decodeCursor, encodeCursor, type ListPosition } from './store/cursor.js';
import type { RuntimeStore, SessionStore } from './store/interfaces.js';
import { clockTime } from './usage-limits.js';

export type SessionResult = components['schemas']['SessionResult'];
export type SessionPage = components['schemas']['SessionPage'];
export type SessionStatus = components['schemas']['SessionStatus'];

/** A request for one page of the session list. */
export interface ListRequest extends SessionFilter {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export const DEFAULT_LIST_LIMIT = 100;

export class SessionQueries {
  constructor(
    private readonly store: RuntimeStore,
    private readonly bus: SessionBus,
    /** What runs still going were billed so far: their totals count it, as an estimate. */
    private readonly live: LiveUsage,
  ) {}

  /** The contract's view of a stored session now, a run still going counted with what it was billed so far. */
  view(stored: StoredSession): Session {
    return toSession(stored, { now: Date.now(), live: this.live.get(stored.name) });
  }

  /** The stored session (404 `session-not-found` when there is none), read through `sessions` (a transaction's). */
  async require(name: string, sessions: SessionStore = this.store.sessions): Promise<StoredSession> {
    const session = await sessions.find(name);
    if (!session) throw notFound(`Session '${name}' not found`, 'session-not-found');
    return session;
  }

  async get(name: string): Promise<Session> {
    return this.view(await this.require(name));
  }

  async getStored(name: string): Promise<StoredSession | null> {
    return this.store.sessions.find(name);
  }

  /** One page of summaries, last activity first; `next_cursor` continues strictly after its last one. */
  async list(request: ListRequest = {}): Promise<SessionPage> {
    const { limit = DEFAULT_LIST_LIMIT, cursor, ...filter } = request;
    let after: ListPosition | null = null;
    if (cursor !== undefined) {
      try {
        after = decodeCursor(cursor);
      } catch (error) {
        if (error instanceof BadCursorError) throw invalid('query.cursor', error.message);
        throw error;
      }
    }
    const found = await this.store.sessions.page(filter, after, limit + 1);
    const sessions = found.slice(0, limit);
    const last = sessions[sessions.length - 1];
    return {
      sessions: sessions.map((stored) => toSummary(stored, { now: Date.now(), live: this.live.get(stored.name) })),
      next_cursor: found.length > limit && last ? encodeCursor(last) : null,
      counts: await this.store.sessions.counts(),
    };
  }

  /** The session and its descendants, with their own and rolled-up usage and cost. */
  async tree(name: string): Promise<SessionTree> {
    const root = await this.require(name);
    return buildTree(root, childrenIndex(await this.subtree(name)), (session) => this.live.get(session));
  }

  /** The names of the session's descendants, nearest first. */
  async descendants(name: string): Promise<string[]> {
    return descendantsOf(name, childrenIndex(await this.subtree(name))).map((s) => s.name);
  }

  /**
   * The session's descendants as stored, level by level through the store's parent filter, so the
   * cost grows with the subtree and not with every session stored (bench/teams.ts).
   */
  async subtree(name: string): Promise<StoredSession[]> {
    const found: StoredSession[] = [];
    const seen = new Set([name]);
    for (let level = [name]; level.length; ) {
      const next: string[] = [];
      for (const parent of level) {
        for (const child of await this.store.sessions.page({ parent }, null, Number.MAX_SAFE_INTEGER)) {
          if (seen.has(child.name)) continue;
          seen.add(child.name);
          found.push(child);
          next.push(child.name);
        }
      }
      level = next;
    }
    return found;
  }

  /** The session's children as stored (only those whose last run is in `states`, when given). */
  async storedChildren(parent: string, states?: RunState[]): Promise<StoredSession[]> {
    return this.store.sessions.page({ parent, states }, null, Number.MAX_SAFE_INTEGER);
  }

  async allStored(): Promise<StoredSession[]> {
    return this.store.sessions.all();
  }

  /** The state, after waiting up to `waitSeconds` for it to become final. */
  async status(name: string, waitSeconds = 0): Promise<SessionStatus> {
    let session = await this.require(name);
    if (waitSeconds > 0 && !isFinal(lastRun(session).state)) {
      await this.waitForChange(name, waitSeconds * 1000, async () => {
        const current = await this.store.sessions.find(name);
        return !current || isFinal(lastRun(current).state);
      });
      session = await this.require(name);
    }
    const run = lastRun(session);
    return {
      name,
      state: run.state,
      pending_approvals: session.pending_approvals ?? 0,
      ...(run.usage_limit ? { usage_limit: run.usage_limit } : {}),
      ...(run.stalled_at ? { stalled_at: run.stalled_at } : {}),
      ...((run.usage_limit || run.stalled_at) && run.error ? { reason: run.error } : {}),
      ...(run.stalled_at && !run.error
        ? { reason: `stalled at ${clockTime(run.stalled_at, Date.now())}: no event for its stall_after_seconds` }
        : {}),
    };
  }

  async result(name: string): Promise<SessionResult> {
    const session = await this.require(name);
    const run = lastRun(session);
    if (!isFinal(run.state)) {
      throw conflict(
        `Session '${name}' is ${run.state}; its result is available once it has ended`,
        'session-not-ended',
      );
    }
    return {
      name,
      run: run.number,
      state: run.state as SessionResult['state'],
      result: run.result,
      error: run.error,
      is_error: run.state !== 'finished',
      ...resultJson(session, run),
    };
  }

  async events(name: string, after: number, limit: number): Promise<{ events: Event[]; has_more: boolean }> {
    await this.require(name);
    const events = await this.store.events.after(name, after, limit + 1);
    return { events: events.slice(0, limit), has_more: events.length > limit };
  }

  /** Tokens, cost and time per session, agent, day and in total (`GET /usage`). */
  async usage(filter: UsageFilter = {}): Promise<UsageReport> {
    return usageReport(this.eachStored(), filter, { now: Date.now(), live: (session) => this.live.get(session) });
  }

  /** Every stored session, one at a time: how the usage report reads the store. */
  private async *eachStored(): AsyncIterable<StoredSession> {
    yield* await this.store.sessions.all();
  }

  /** Events of a run that came from the agent's output (not `session_stop`, the approvals', set-up's or retry's). */
  async countParsedEvents(name: string, run: number): Promise<number> {
    return this.store.events.count(name, run, [
      'session_stop',
      'approval_request',
      'approval_answer',
      'worktree_setup',
      'output_retry',
    ]);
  }

  /** Sessions active at `since` or later (last activity), most recent first, at most `limit`. */
  async activeSince(since: string, limit: number): Promise<StoredSession[]> {
    const found: StoredSession[] = [];
    let after: ListPosition | null = null;
    for (;;) {
      const page = await this.store.sessions.page({}, after, 200);
      for (const session of page) {
        if (session.updated_at < since || found.length >= limit) return found;
        found.push(session);
      }
      const last = page[page.length - 1];
      if (!last || page.length < 200) return found;
      after = last;
    }
  }

  /** Sessions whose last run is queued or running (the queue and the runs in flight). */
  async active(): Promise<StoredSession[]> {
    return this.store.sessions.page({ states: ['queued', 'running'] }, null, Number.MAX_SAFE_INTEGER);
  }

  /** Sessions whose last run is in one of `states`. */
  async inStates(states: RunState[]): Promise<StoredSession[]> {
    return this.store.sessions.page({ states }, null, Number.MAX_SAFE_INTEGER);
  }

  /**
   * Resolves once `done` answers true, or after `timeoutMs`, or when the session is deleted: `done`
   * is asked again at each change of the session (following it), and once at first.
   */
  waitForChange(name: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unfollow();
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      const check = () => void done().then((yes) => yes && finish(), finish);
      const unfollow = this.bus.follow(name, { changed: check, ended: finish });
      // The state may have changed between the caller's read and the subscription.
      // A store that fails here ends the wait; the caller's next read reports the error.
      check();
    });
  }
}
