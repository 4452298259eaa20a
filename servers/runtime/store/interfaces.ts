import type { components } from '../../../sdk/generated/runtime.js';
import type { Event, StoredRun, StoredSession } from '../session-store.js';
import type { SessionFilter, StateCounts } from './catalogue.js';
import type { ListPosition } from './cursor.js';
import type { AuditStore } from '../../common/audit/audit-store.js';
import type { ClaimedRunRef, ClaimRequest } from './run-records.js';

/**
 * Where sessions and their runs are kept: a record per session (its facts) and a record per run
 * (store/run-records.ts), put together as a `StoredSession` (its `runs` in order) when read. Every backend (the embedded nedb one, PostgreSQL later) implements this
 * and passes the conformance suite (test/runtime/store-conformance.ts). Callers serialize writes to
 * one session (`RuntimeStore.exclusive`); a backend must still be safe for concurrent calls on
 * different sessions.
 */
export interface SessionStore {
  /** Inserts a new session and its runs; resolves false when the name is taken (also under a race). */
  insert(session: StoredSession): Promise<boolean>;
  /** The session with its runs, in order. */
  find(name: string): Promise<StoredSession | null>;
  /**
   * Overwrites the facts of the stored session of that name (which exists) and writes `runs` of it
   * (new or changed; by default its last run: the runs before it have ended and never change).
   */
  replace(session: StoredSession, runs?: readonly StoredRun[]): Promise<void>;
  /** Deletes a session and its runs; resolves false when there was none. Its events are the EventLog's. */
  remove(name: string): Promise<boolean>;
  /**
   * Up to `limit` sessions matching `filter`, strictly after `after`, in list order (last activity
   * first: `updated_at` descending, then `name` ascending; see `compareListOrder`).
   */
  page(filter: SessionFilter, after: ListPosition | null, limit: number): Promise<StoredSession[]>;
  /** How many sessions are in each state (their last run's), all sessions. */
  counts(): Promise<StateCounts>;
  /** Every session, in list order: for start-up re-adoption and reports over all runs. */
  all(): Promise<StoredSession[]>;
  /**
   * Leases the first queued run `request.offer` may claim (claim order: `queued_at`, then session
   * name) to it, on the store's clock, by the rule of `claim` in run-machine.ts: a new attempt, the
   * lease, the runner, the hash of the run's new credential. Null when none may be claimed, or when
   * `maxInFlight` runs are in flight (running, or claimed under a live lease). Of claims at once, by
   * any processes, each run goes to one; a run being written (`exclusive`) is passed over, not waited for.
   * Its cost does not grow with the runs queued for runners with tags this one lacks.
   */
  claim(request: ClaimRequest): Promise<ClaimedRunRef | null>;
  /** Gives back the disk space of deleted and overwritten sessions, while serving. */
  compact(): Promise<void>;
}

/** An event before the log numbers it. */
export type UnnumberedEvent = Omit<Event, 'seq'>;

/**
 * Every session's events, numbered per session 1, 2, 3, ... with no gaps. A backend loads a
 * session's events only when they are asked for: start-up costs nothing per event.
 */
export interface EventLog {
  /**
   * Appends events to one session, numbering them after its last one; resolves once they are
   * durable (a crash of this process afterwards loses none). Concurrent appends to one session are
   * serialized by the log itself, so their numbers never collide or leave gaps.
   */
  append(session: string, events: UnnumberedEvent[]): Promise<Event[]>;
  /** Events with `after < seq <= after + limit`, in order. */
  after(session: string, after: number, limit: number): Promise<Event[]>;
  /** The last `seq` of the session, 0 when it has none. */
  lastSeq(session: string): Promise<number>;
  /** Events of one run, all types but `exceptTypes`. */
  count(session: string, run: number, exceptTypes: readonly string[]): Promise<number>;
  /** Deletes every event of the session and the space they took. */
  remove(session: string): Promise<void>;
}

/**
 * What one process tells the others that share its store: a session changed, or a session got
 * events (only their numbers: the store holds the events, a listener reads them from there).
 */
export type Notice =
  | { kind: 'change'; change: components['schemas']['SessionChange'] }
  | { kind: 'events'; session: string; first: number; last: number };

/** What `exclusive` hands its work: the store's halves, bound to its hold on the session. */
export interface ExclusiveTx {
  sessions: SessionStore;
  events: EventLog;
  conversations: ConversationStore;
  approvals: ApprovalStore;
  webhooks: WebhookStore;
  /** Tells the other processes, when (and only if) the work's writes are kept. */
  notify(notices: Notice[]): Promise<void>;
  /**
   * The store's clock (ms since the epoch): what leases are granted and judged by. On PostgreSQL, the
   * database's clock as the hold was taken, read in the round trip that took it: one time for the work.
   */
  clock(): Promise<number>;
}

/** Hears what the other processes sharing a store tell (`ExclusiveTx.notify`). */
export interface NoticeListener {
  notice(notice: Notice): void;
  /** After a lost connection came back: notices sent meanwhile may be missed, look at the store again. */
  resync(): void;
}

/**
 * Claude Code's conversation of each session (its gzip'd conversation file, see
 * executor/conversation-files.ts), kept with the session so that a resume can run on another host
 * than the run before it. The bytes are opaque to the store.
 */
export interface ConversationStore {
  /** Keeps `data` as the session's conversation, replacing the one before; durable once resolved. */
  save(session: string, data: Buffer): Promise<void>;
  /** The session's conversation as last saved; null when none was. */
  load(session: string): Promise<Buffer | null>;
  /** Deletes the session's conversation; resolves false when there was none. */
  remove(session: string): Promise<boolean>;
}

export type Approval = components['schemas']['Approval'];
export type ApprovalState = components['schemas']['ApprovalState'];

/** How a pending approval request was answered (by a person, the timeout or the run's end). */
export type ApprovalOutcome = Pick<Approval, 'state' | 'answered_at' | 'message'> & {
  answered_by: NonNullable<Approval['answered_by']>;
  /** Who answered (a person's answer: the person or the ancestor agent). */
  answerer?: Approval['answerer'];
};

/**
 * Approval requests (approvals.ts), kept where every runtime process sharing the store reads them:
 * the store is the truth about a request's state, and it alone decides which answer counts.
 */
export interface ApprovalStore {
  /**
   * Adds a pending request. When the session's run already has one with the same `tool_use_id`
   * (a permission tool asking again), adds nothing and resolves with that one, also under a race.
   */
  insert(approval: Approval): Promise<Approval>;
  get(id: string): Promise<Approval | null>;
  /** Oldest first (`asked_at`, then `id`). */
  find(query: { session?: string; state?: ApprovalState; run?: number; tool_use_id?: string }): Promise<Approval[]>;
  /**
   * Answers the request if it is still pending: resolves with it answered, or null when it is not
   * pending (any more). Of answers given at once, by any processes, exactly one gets it.
   */
  settle(id: string, outcome: ApprovalOutcome): Promise<Approval | null>;
  /** Deletes every request of the session. */
  removeSession(session: string): Promise<void>;
}

export type Callback = components['schemas']['Callback'];

/** How a pending callback was settled: delivered (in the parent's run `parent_run`) or dropped (`reason`). */
export type CallbackSettlement =
  | { status: 'delivered'; settled_at: string; parent_run: number | null }
  | { status: 'dropped'; settled_at: string; parent_run: null; reason: string };

/**
 * Callbacks of children to their parents (callbacks.ts), kept where every runtime process sharing
 * the store reads them. The store decides the races: a callback is added once by id, and settled once.
 */
export interface CallbackStore {
  /** Adds a callback unless one with its id is kept (also under a race); resolves true when it added it. */
  insert(callback: Callback): Promise<boolean>;
  /** The parent's callbacks (only those in `status`, when given), oldest first (`created_at`, then `id`). */
  find(parent: string, status?: Callback['status']): Promise<Callback[]>;
  /** Every parent that has pending callbacks. */
  pendingParents(): Promise<string[]>;
  /** How many callbacks are pending, for every parent (the metrics' gauge). */
  countPending(): Promise<number>;
  /**
   * The parents with pending callbacks that may be resumed with them now, in one query: the parent
   * was deleted or its last run ended, and none of its callback children is queued or running.
   */
  deliverableParents(): Promise<string[]>;
  /**
   * Settles those of `ids` that are still pending; resolves with the ids it changed. Of settles at
   * once, by any processes, exactly one changes each callback.
   */
  settle(ids: string[], settlement: CallbackSettlement): Promise<string[]>;
}

/** A webhook notice as it is added to the outbox: one run's end, for one URL. */
export interface NewWebhookDelivery {
  /** The `X-AOF-Delivery` id: the same on every attempt, across restarts and processes. */
  id: string;
  session: string;
  run: number;
  /** Where to POST it, as the user gave it (its query or credentials may be secret: never logged). */
  url: string;
  /** The payload's JSON, exactly as sent (the signature is computed from it at send time). */
  body: string;
}

/** `pending` until a 2xx (`delivered`), or a final refusal or the last retry (`given_up`). */
export type WebhookDeliveryState = 'pending' | 'delivered' | 'given_up';

export interface WebhookDelivery extends NewWebhookDelivery {
  state: WebhookDeliveryState;
  /** Attempts made so far. */
  attempts: number;
  created_at: string;
  /** When the next attempt is due (pending ones). */
  next_try_at: string;
  /** Why the last attempt failed (`HTTP 503`, a network error), null before any failed. */
  last_error: string | null;
  finished_at: string | null;
}

/** How an attempt on a claimed delivery ended. */
export type WebhookOutcome =
  | { state: 'pending'; error: string; retryInMs: number }
  | { state: 'delivered' }
  | { state: 'given_up'; error: string };

/**
 * The outbox of webhook notices (webhook-sender.ts sends them). A run's end adds its notices in the
 * same write that records the end (`ExclusiveTx.webhooks`), so no end is kept without them. Senders,
 * in any processes sharing the store, claim due deliveries for a while: each attempt is made by one
 * claimant, and a claim that runs out (its process died) lets another claimant take the delivery.
 * Times are the store's clock (the database's for PostgreSQL), so processes' clocks need not agree.
 */
export interface WebhookStore {
  /** Adds deliveries, due now; one whose id is stored already is left as it is. */
  add(deliveries: NewWebhookDelivery[]): Promise<void>;
  get(id: string): Promise<WebhookDelivery | null>;
  /** A session's deliveries, oldest first (`created_at`, then `id`). */
  find(query: { session: string }): Promise<WebhookDelivery[]>;
  /**
   * Claims for `claimant`, for `claimMs`, up to `limit` pending deliveries that are due and not
   * claimed (or whose claim ran out), earliest due first. Of claims made at once, by any processes,
   * each delivery goes to one.
   */
  claim(claimant: string, claimMs: number, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Records an attempt on a delivery `claimant` claimed, and ends the claim; resolves false (and
   * records nothing) when the claim went to another claimant meanwhile.
   */
  settle(id: string, claimant: string, outcome: WebhookOutcome): Promise<boolean>;
  /** Ends `claimant`'s claim without an attempt (its sender is closing): the delivery is due again. */
  release(id: string, claimant: string): Promise<void>;
  /**
   * Milliseconds until a pending delivery may next be claimed (0 when one may be now; a claimed one
   * counts from its claim's end), or null when none is pending.
   */
  nextDueInMs(): Promise<number | null>;
  /** How many deliveries are pending (the outbox's backlog, for the metrics' gauge). */
  countPending(): Promise<number>;
  /**
   * Deletes finished (delivered or given up) deliveries that finished more than `olderThanMs` ago,
   * and those beyond the `keep` most recently finished; resolves with how many. Pending ones stay.
   */
  prune(options: { olderThanMs: number; keep: number }): Promise<number>;
}

/** What a named token may do (scope.ts): everything, sessions and approvals, reading; or a runner's work. */
export type TokenRole = 'admin' | 'operator' | 'viewer' | 'runner';

/** A person's named token as kept: never the token, only its SHA-256 (hex). */
export interface StoredToken {
  name: string;
  role: TokenRole;
  hash: string;
  created_at: string;
}

/** People's named tokens (tokens.ts): by name, and found by the hash of what a request presents. */
export interface TokenStore {
  /** Every token, by name. */
  list(): Promise<StoredToken[]>;
  findByHash(hash: string): Promise<StoredToken | null>;
  /** Adds the token; resolves false (and adds nothing) when its name is taken. */
  insert(token: StoredToken): Promise<boolean>;
  /** Removes the token by that name; resolves false when there is none. */
  delete(name: string): Promise<boolean>;
}

/** A backend: its halves, opened together, closed together. */
export interface RuntimeStore {
  sessions: SessionStore;
  events: EventLog;
  conversations: ConversationStore;
  approvals: ApprovalStore;
  callbacks: CallbackStore;
  webhooks: WebhookStore;
  tokens: TokenStore;
  /** Who did what (audit.ts). */
  audit: AuditStore;
  /**
   * Runs `work` with every write to session `name` serialized against every other `exclusive` on
   * that name, in this process and in every other one sharing the store, and, where the backend can,
   * atomically: all of the work's writes are kept, or none (PostgreSQL: one transaction).
   */
  exclusive<T>(name: string, work: (tx: ExclusiveTx) => Promise<T>): Promise<T>;
  /**
   * Like `exclusive`, but gives up at once (`done: false`) instead of waiting when another writer
   * holds the session (PostgreSQL: a try-lock and `FOR UPDATE SKIP LOCKED`): how a claim passes over
   * a session being written to take the next queued run.
   */
  tryExclusive<T>(
    name: string,
    work: (tx: ExclusiveTx) => Promise<T>,
  ): Promise<{ done: true; value: T } | { done: false }>;
  /** Notices of the other processes sharing this store; absent when no other process can share it. */
  notices?: { subscribe(listener: NoticeListener): () => void } | undefined;
  /**
   * The store's clock (ms since the epoch): the database's for PostgreSQL, so that leases granted and
   * judged by several processes agree whatever their own clocks say; this process's for the embedded store.
   */
  clock(): Promise<number>;
  /** Waits for writes in flight and lets go of files and connections. */
  close(): Promise<void>;
}
