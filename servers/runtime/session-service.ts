import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { components } from '../../sdk/generated/runtime.js';
import { conflict, HttpProblem, unprocessable } from '../common/contract/problem.js';
import type { Principal } from '../common/http/principal.js';
import { checkOutputSchema } from '../common/contract/output-schema.js';
import { checkNoPendingFork, forkOf } from './fork.js';
import { isLeased } from './leases.js';
import { admit, fail, queue, record as recordRun, recordedInput, requestStop, stopEvent } from './run-machine.js';
import { SessionBus, type SessionFollower } from './session-bus.js';
import { SessionQueries, type ListRequest, type SessionPage, type SessionResult } from './session-queries.js';
import { UnitOfWork, type Told } from './unit-of-work.js';
import { LiveUsage } from './run-figures.js';
import type { SessionTree } from './tree.js';
import { storedOutputSchema } from './structured-output.js';
import { addWorktree, hasChanges, removeWorktree, type Worktree } from './worktree.js';
import { worktreeChanges, type Changes, type ChangesOptions } from './changes.js';
import { commitCheckpoint, listCheckpoints, type CheckpointList } from './checkpoints.js';
import {
  checkMergeTarget,
  conflictPrompt,
  MergeConflict,
  mergeSessionBranch,
  type MergeRequest,
  type MergeResult,
} from './merge.js';
import { MAX_RESOLVE_ATTEMPTS, MergeFollowUps, type MergeAgainOutcome } from './merge-followups.js';
import { reviewPrompt, type ReviewRequest } from './review.js';
import { openPullRequest, type GitHubOptions, type PullRequest, type PullRequestRequest } from './pull-request.js';
import {
  DEFAULT_SETUP_TIMEOUT_SECONDS,
  runWorktreeSetup,
  setupFailure,
  type WorktreeSetup,
  type WorktreeSetupData,
} from './worktree-setup.js';
import { withoutServerSecrets } from '../executor/index.js';
import { cliTag } from '../executor/clis/index.js';
import type { CliName } from '../common/agent/agent-clis.js';
import type { UsageFilter, UsageReport } from './usage-report.js';
import {
  isFinal,
  lastRun,
  newRun,
  type Blueprint,
  type Event,
  type EventInput,
  type RunState,
  type Session,
  type StoredRun,
  type StoredSession,
} from './session-store.js';
import type { RunObserver } from './runtime-metrics.js';
import type {
  ExclusiveTx,
  NewWebhookDelivery,
  RuntimeStore,
  SessionStore,
  UnnumberedEvent,
} from './store/interfaces.js';
import type { ClaimedRunRef, ClaimRequest } from './store/run-records.js';
import type { ListPosition } from './store/cursor.js';
import { DEFAULT_LIMIT_POLICY, type LimitPolicy } from './usage-limits.js';

export type SessionChange = components['schemas']['SessionChange'];
export type SessionStatus = components['schemas']['SessionStatus'];
export type SessionCreate = components['schemas']['SessionCreate'];
export type ForkCreate = components['schemas']['ForkCreate'];
export type MergeResolving = components['schemas']['MergeResolving'];
export type MergeQueueResult = components['schemas']['MergeQueueResult'];
type MergeQueueEntry = components['schemas']['MergeQueueEntry'];

export { DEFAULT_LIST_LIMIT, type ListRequest, type SessionPage, type SessionResult } from './session-queries.js';

/** Where blueprints come from (the Agent Registry, over HTTP). */
export interface BlueprintSource {
  /** The blueprint, or null when there is none by that name. */
  find(name: string): Promise<
    | (Blueprint & {
        status: 'active' | 'inactive';
        output_schema?: Record<string, unknown>;
        worktree?: boolean;
        worktree_setup?: WorktreeSetup;
        checkpoint?: boolean;
      })
    | null
  >;
}

/** What runs the agents. The service tells it about queued runs and stops; it reports back through `record`. */
export interface RunScheduler {
  enqueue(session: string): void;
  /** Ends the active run's process, if this scheduler has one; resolves once it is gone. */
  stop(session: string): Promise<boolean>;
  /** Drops what it keeps for a deleted session (run files). */
  forget(session: string): Promise<void>;
}

/** How long a stop waits for another runner to end the run (it hears of it at its next heartbeat). */
const STOP_WAIT_MS = 15_000;

export { STOPPED_ON_REQUEST } from './run-machine.js';

export interface RecordOptions {
  /** Records nothing (and throws nothing) when the run has already ended: an end reported twice. */
  force?: boolean;
  /** The events are for this run, which must be the last one (409 `run-not-last`). */
  run?: number;
  /** The run's process exists: it is `running` from now. */
  started?: boolean;
  /**
   * A runner's report: it must hold the run's lease under `attempt` (409 `lease-lost`), `from` is the
   * position of the first event among the attempt's reported events (a retried batch is not stored
   * twice), and the report extends the lease by `leaseMs`.
   */
  lease?: { runner: string; attempt: number; from: number; leaseMs: number };
  /** Records only if `runner` still holds the run under `attempt` with a lease that expired before `before`. */
  expired?: { runner: string; attempt: number; before: string };
}

/** Long strings in event data are cut here so one event can never outgrow the store. */
export const MAX_EVENT_STRING = 64 * 1024;

/**
 * The commands on sessions: creates them, queues runs, applies recorded events to run states, stops,
 * deletes, merges. Each write runs under the unit of work (unit-of-work.ts: one session at a time,
 * told to listeners once kept); what is read is in session-queries.ts (delegated here under the names
 * the other modules call); following a session's events and changes, here or in other processes
 * sharing the store, is session-bus.ts (`follow`).
 */
export class SessionService {
  private readonly bus: SessionBus;
  /** Writes to one session at a time, told to listeners once kept (unit-of-work.ts). */
  private readonly work: UnitOfWork;
  /** What is read: sessions, lists, trees, states, results, events (session-queries.ts). */
  readonly queries: SessionQueries;
  private scheduler: RunScheduler | undefined;
  private runEndNotices: ((session: StoredSession, run: StoredRun) => NewWebhookDelivery[]) | undefined;
  private webhooksAdded: () => void = () => undefined;
  private checkWebhookUrl: ((url: string) => Promise<void>) | undefined;
  /** How runs that hit the account's usage limit are resumed (usage-limits.ts). */
  limitPolicy: LimitPolicy = DEFAULT_LIMIT_POLICY;

  constructor(
    private readonly store: RuntimeStore,
    private readonly blueprints: BlueprintSource,
    private readonly defaultProjectDir: string,
    /** Where sessions' git worktrees are made (worktree.ts). */
    private readonly worktreeRoot: string,
  ) {
    this.bus = new SessionBus(store.events, store.notices);
    this.work = new UnitOfWork(store, this.bus);
    this.queries = new SessionQueries(store, this.bus, this.live);
    this.work.runObservers.push({ started() {}, firstEvent() {}, ended: (s, r) => this.mergeFollowUps.ended(s, r) });
  }

  /** Told what each merge tried again after a conflict's run did (the runtime's log). */
  private mergeReport: ((name: string, into: string, outcome: MergeAgainOutcome) => void) | undefined;
  private readonly mergeFollowUps = new MergeFollowUps(
    async (name, request, attempt) => {
      const result = await this.merge(name, request, attempt);
      return 'resolving' in result ? { resolving: { run: result.run, files: result.files } } : { merged: result };
    },
    (name, into, outcome) => this.mergeReport?.(name, into, outcome),
  );

  useMergeReport(report: (name: string, into: string, outcome: MergeAgainOutcome) => void): void {
    this.mergeReport = report;
  }

  /** What runs still going were billed so far (kept by the LimitGuard): their totals count it, as an estimate. */
  readonly live = new LiveUsage();

  useScheduler(scheduler: RunScheduler): void {
    this.scheduler = scheduler;
  }

  /**
   * The webhook notices of a run that ends, stored in the write that records its end (webhooks.ts);
   * `added` is told once a write that stored some is kept (the sender looks at the outbox then).
   */
  useWebhooks(
    notices: (session: StoredSession, run: StoredRun) => NewWebhookDelivery[],
    added: () => void = () => undefined,
  ): void {
    this.runEndNotices = notices;
    this.webhooksAdded = added;
  }

  /** Stores the webhook notices of `run`'s end in the write `tx`, and has the sender told once it is kept. */
  private async addRunEndNotices(tx: ExclusiveTx, told: Told, session: StoredSession, run: StoredRun): Promise<void> {
    const deliveries = this.runEndNotices?.(session, run) ?? [];
    if (!deliveries.length) return;
    await tx.webhooks.add(deliveries);
    told.kept = [...(told.kept ?? []), this.webhooksAdded];
  }

  /** Told when runs start, first hear from their agent, and end, once each change is kept (the metrics). */
  useRunObserver(observer: RunObserver): void {
    this.work.runObservers.push(observer);
  }

  /** Refuses (throws a 422) a session's `webhook_url` the runtime may not send to (webhooks.ts). */
  useWebhookCheck(check: (url: string) => Promise<void>): void {
    this.checkWebhookUrl = check;
  }

  /* ---------- queries (session-queries.ts) ---------- */

  get(name: string): Promise<Session> {
    return this.queries.get(name);
  }

  getStored(name: string): Promise<StoredSession | null> {
    return this.queries.getStored(name);
  }

  /** One page of summaries, last activity first; `next_cursor` continues strictly after its last one. */
  list(request: ListRequest = {}): Promise<SessionPage> {
    return this.queries.list(request);
  }

  /** The session and its descendants, with their own and rolled-up usage and cost. */
  tree(name: string): Promise<SessionTree> {
    return this.queries.tree(name);
  }

  /** The names of the session's descendants, nearest first. */
  descendants(name: string): Promise<string[]> {
    return this.queries.descendants(name);
  }

  /** The session's descendants as stored. */
  subtree(name: string): Promise<StoredSession[]> {
    return this.queries.subtree(name);
  }

  /** The session's children as stored (only those whose last run is in `states`, when given). */
  storedChildren(parent: string, states?: RunState[]): Promise<StoredSession[]> {
    return this.queries.storedChildren(parent, states);
  }

  /** Whether children of the session that call it back when they end are queued or running: it will be resumed soon. */
  async awaitsCallbacks(parent: string): Promise<boolean> {
    return (await this.storedChildren(parent, ['queued', 'running'])).some((child) => child.callback === true);
  }

  allStored(): Promise<StoredSession[]> {
    return this.queries.allStored();
  }

  /** The state, after waiting up to `waitSeconds` for it to become final. */
  status(name: string, waitSeconds = 0): Promise<SessionStatus> {
    return this.queries.status(name, waitSeconds);
  }

  result(name: string): Promise<SessionResult> {
    return this.queries.result(name);
  }

  events(name: string, after: number, limit: number): Promise<{ events: Event[]; has_more: boolean }> {
    return this.queries.events(name, after, limit);
  }

  /** Tokens, cost and time per session, agent, day and in total (`GET /usage`). */
  usage(filter: UsageFilter = {}): Promise<UsageReport> {
    return this.queries.usage(filter);
  }

  /** Events of a run that came from the agent's output. */
  countParsedEvents(name: string, run: number): Promise<number> {
    return this.queries.countParsedEvents(name, run);
  }

  /** Sessions active at `since` or later (last activity), most recent first, at most `limit`. */
  activeSince(since: string, limit: number): Promise<StoredSession[]> {
    return this.queries.activeSince(since, limit);
  }

  /** Sessions whose last run is queued or running (the queue and the runs in flight). */
  active(): Promise<StoredSession[]> {
    return this.queries.active();
  }

  /** Sessions whose last run is in one of `states`. */
  inStates(states: RunState[]): Promise<StoredSession[]> {
    return this.queries.inStates(states);
  }

  private view(stored: StoredSession): Session {
    return this.queries.view(stored);
  }

  private require(name: string, sessions: SessionStore = this.store.sessions): Promise<StoredSession> {
    return this.queries.require(name, sessions);
  }

  /* ---------- commands ---------- */

  /** `by`: who starts it (its `created_by`). */
  async create(input: SessionCreate, by?: Principal): Promise<Session> {
    checkOutputSchema(input.output_schema, 'body.output_schema');
    if (input.webhook_url) await this.checkWebhookUrl?.(input.webhook_url);
    const projectDir = await this.checkProjectDir(input.project_dir);
    const found = input.agent ? await this.checkBlueprint(input.agent) : null;
    const {
      output_schema: blueprintSchema,
      worktree: blueprintWorktree,
      worktree_setup: setup,
      checkpoint: blueprintCheckpoint,
      ...blueprint
    } = found ?? { name: '' };
    const parent = await this.checkParent(input);
    const limits = input.limits ?? found?.limits ?? (parent?.limits?.inherit ? parent.limits : undefined);
    const outputSchema = input.output_schema ?? blueprintSchema;
    const id = randomUUID();
    const withWorktree = input.worktree ?? blueprintWorktree ?? false;
    if (input.checkpoint && !withWorktree)
      throw unprocessable(
        'body.checkpoint',
        "checkpoints are commits on the session's own branch: ask for a worktree of its own too, or leave checkpoints out",
      );
    const checkpoint = withWorktree && (input.checkpoint ?? blueprintCheckpoint ?? false);
    let worktree = null;
    if (withWorktree) {
      if (await this.store.sessions.find(input.name))
        throw conflict(`Session '${input.name}' already exists; resume it or choose another name`, 'session-exists');
      worktree = await addWorktree(this.worktreeRoot, input.name, id, projectDir);
    }
    // Ready to work in before the first run: the blueprint's setup runs now; its failure is the run's.
    let setupResult: WorktreeSetupData | undefined;
    if (worktree && setup) {
      // The setup is the blueprint's command, not the person: it gets none of the servers' secrets.
      setupResult = await runWorktreeSetup(setup, worktree.workDir, {
        ...withoutServerSecrets(process.env),
        AGENT_ORCHESTRATOR_SESSION_NAME: input.name,
      });
    }
    const setupFailed = setupResult !== undefined && (setupResult.timed_out || setupResult.exit_code !== 0);
    const now = new Date().toISOString();
    const first = newRun(1, input.prompt, now);
    if (setupFailed) {
      fail(first, Date.parse(now), setupFailure(setupResult!, setup!.timeout_seconds ?? DEFAULT_SETUP_TIMEOUT_SECONDS));
    }
    const session: StoredSession = {
      _id: input.name,
      name: input.name,
      agent: input.agent ?? null,
      blueprint: found ? blueprint : null,
      project_dir: worktree?.workDir ?? projectDir,
      ...(worktree ? { worktree: { ...worktree.worktree, ...(checkpoint ? { checkpoint: true } : {}) } } : {}),
      claude_session_id: id,
      created_at: now,
      last_resumed_at: null,
      updated_at: now,
      runs: [first],
      parent: parent?.name ?? null,
      ...(input.callback ? { callback: true } : {}),
      ...(limits ? { limits } : {}),
      ...(input.webhook_url ? { webhook_url: input.webhook_url } : {}),
      ...(outputSchema ? { output_schema: storedOutputSchema(outputSchema) } : {}),
      ...runnerTags(input.runner_tags, found ? blueprint?.cli : undefined),
      ...(by ? { created_by: by } : {}),
      ...(input.resume_after_limit !== undefined ? { resume_after_limit: input.resume_after_limit } : {}),
    };
    const inserted = await this.work.exclusive(input.name, async (tx, told) => {
      if (!(await tx.sessions.insert(session))) return false;
      told.changes.push({
        name: input.name,
        change: 'created',
        state: first.state,
        run: 1,
        at: now,
        ...(by ? { by } : {}),
      });
      if (setupResult) {
        const data = boundStrings(setupResult) as Record<string, unknown>;
        told.events.push(
          ...(await tx.events.append(input.name, [
            { session: input.name, run: 1, type: 'worktree_setup', at: now, data },
          ])),
        );
      }
      if (setupFailed) await this.addRunEndNotices(tx, told, session, first);
      return true;
    });
    if (!inserted) {
      if (worktree) await removeWorktree(worktree.worktree, input.name, true);
      throw conflict(`Session '${input.name}' already exists; resume it or choose another name`, 'session-exists');
    }
    if (!setupFailed) this.scheduler?.enqueue(input.name);
    this.wake();
    return this.view(session);
  }

  /**
   * `callbacks`: the ids of the callbacks this run delivers, stored with it in the same write. Refused
   * (409) when a run of the session lists any of them already: of two processes delivering one
   * callback at once, the store's hold on the session lets one through.
   */
  async resume(
    name: string,
    prompt: string,
    options: {
      callbacks?: string[];
      /** Only if the session's last run is this one (409 `session-busy` otherwise): a resume decided on it. */
      after?: number;
    } = {},
  ): Promise<Session> {
    const session = await this.work.exclusive(name, async (tx, told) => {
      const stored = await this.require(name, tx.sessions);
      const delivered = options.callbacks?.find((id) => stored.runs.some((run) => run.callbacks?.includes(id)));
      if (delivered) throw conflict(`Callback '${delivered}' was delivered to session '${name}' already`, 'conflict');
      const last = lastRun(stored);
      if (options.after !== undefined && last.number !== options.after)
        throw conflict(`Session '${name}' has run ${last.number} already`, 'session-busy');
      if (!isFinal(last.state)) {
        throw conflict(
          `Session '${name}' is ${last.state}; wait for it to end or stop it before resuming`,
          'session-busy',
        );
      }
      await checkNoPendingFork(tx.sessions, stored);
      const run = queue(stored, prompt, Date.now(), options.callbacks);
      const now = run.queued_at;
      stored.last_resumed_at = now;
      stored.updated_at = now;
      await tx.sessions.replace(stored);
      told.changes.push({ name, change: 'state', state: 'queued', run: last.number + 1, at: now });
      return stored;
    });
    this.scheduler?.enqueue(name);
    this.wake();
    return this.view(session);
  }

  /** A new session continuing `source`'s conversation as it stands (see fork.ts). */
  async fork(source: string, input: ForkCreate, by?: Principal): Promise<Session> {
    const session = await this.work.exclusive(source, async (tx, told) => {
      const fork = forkOf(await this.require(source, tx.sessions), input.name, input.prompt, new Date().toISOString());
      if (by) fork.created_by = by;
      else delete fork.created_by;
      if (!(await tx.sessions.insert(fork))) {
        throw conflict(`Session '${input.name}' already exists; choose another name for the fork`, 'session-exists');
      }
      told.changes.push({
        name: fork.name,
        change: 'created',
        state: 'queued',
        run: 1,
        at: fork.created_at,
        ...(by ? { by } : {}),
      });
      return fork;
    });
    this.scheduler?.enqueue(session.name);
    this.wake();
    return this.view(session);
  }

  /**
   * Stops the active run: its process if one runs, else the run is marked stopped. Idempotent.
   * `reason` (a crossed limit) becomes the run's error; without one, a person asked. `tree` also
   * stops every descendant. `by`: who asked (the run's `stopped_by`).
   */
  async stop(name: string, options: { reason?: string; tree?: boolean; by?: Principal } = {}): Promise<Session> {
    if (options.tree) {
      const descendants = await this.descendants(name);
      await Promise.all(
        descendants.map((child) =>
          this.stop(child, {
            ...(options.reason ? { reason: options.reason } : {}),
            ...(options.by ? { by: options.by } : {}),
          }).catch(ignoreNotFound),
        ),
      );
    }
    const stored = await this.work.exclusive(name, async (tx) => {
      const session = await this.require(name, tx.sessions);
      const run = lastRun(session);
      if (requestStop(run, options.reason)) {
        run.stopped_by = options.reason ? null : (options.by ?? null);
        await tx.sessions.replace(session);
      }
      return session;
    });
    if (isFinal(lastRun(stored).state)) return this.view(stored);
    const hadProcess = (await this.scheduler?.stop(name)) ?? false;
    let after = await this.require(name);
    if (!hadProcess && lastRun(after).state === 'running' && isLeased(lastRun(after), await this.store.clock())) {
      // Another runner runs it: it learns of the stop at its next heartbeat and reports the end.
      await this.queries.waitForChange(name, STOP_WAIT_MS, async () =>
        isFinal(lastRun(await this.require(name)).state),
      );
      after = await this.require(name);
      if (!isFinal(lastRun(after).state)) return this.view(after);
    }
    if (!hadProcess && !isFinal(lastRun(after).state)) {
      // No process of ours (still queued, or run by a remote executor): end the run here.
      await this.record(name, [stopEvent()], { force: true });
    }
    return this.get(name);
  }

  /**
   * Deletes a session; its worktree is removed, its branch kept unless `discard` (worktree.ts).
   * `tree`: its descendants too.
   */
  async delete(name: string, options: { tree?: boolean; discard?: boolean; by?: Principal } = {}): Promise<void> {
    const by = options.by;
    if (options.tree) {
      // Deepest first, so no child outlives its parent even for a moment.
      for (const child of (await this.descendants(name)).reverse())
        await this.delete(child, { discard: options.discard === true, ...(by ? { by } : {}) }).catch(ignoreNotFound);
    }
    const session = await this.require(name);
    if (!isFinal(lastRun(session).state)) await this.stop(name, by ? { by } : {});
    await this.erase(name, () => true, options.discard === true, by);
  }

  /**
   * Deletes the sessions that have ended, are last active before `before` and are not among the
   * `keep` most recently active (either condition may be left out), then compacts the store.
   */
  async prune(options: { before?: string | undefined; keep?: number | undefined }, by?: Principal): Promise<string[]> {
    const before = options.before === undefined ? undefined : new Date(options.before).toISOString();
    const chosen: string[] = [];
    let position = 0;
    let after: ListPosition | null = null;
    for (;;) {
      const page = await this.store.sessions.page({}, after, 500);
      for (const session of page) {
        position++;
        if (!isFinal(lastRun(session).state)) continue;
        if (before !== undefined && session.updated_at >= before) continue;
        if (options.keep !== undefined && position <= options.keep) continue;
        chosen.push(session.name);
      }
      const last = page[page.length - 1];
      if (!last || page.length < 500) break;
      after = last;
    }
    const deleted: string[] = [];
    // A session resumed meanwhile has not ended any more, and stays.
    for (const name of chosen)
      if (await this.erase(name, (s) => isFinal(lastRun(s).state), false, by)) deleted.push(name);
    await this.store.sessions.compact();
    return deleted;
  }

  /** Removes a session and its events when `when` holds for it; tells listeners. */
  private async erase(
    name: string,
    when: (session: StoredSession) => boolean,
    discard = false,
    by?: Principal,
  ): Promise<boolean> {
    const erased = await this.work.exclusive(name, async (tx, told) => {
      const session = await tx.sessions.find(name);
      if (!session || !when(session)) return false;
      // A worktree first: what the agent left uncommitted goes to its branch, or the deletion fails.
      if (session.worktree) await removeWorktree(session.worktree, name, discard);
      // Its saved conversation first, for the same reason as its events.
      await tx.conversations.remove(name);
      // Events first: a crash in between leaves a session without events, never events without a session.
      await tx.events.remove(name);
      await tx.sessions.remove(name);
      told.changes.push({ name, change: 'deleted', state: null, at: new Date().toISOString(), ...(by ? { by } : {}) });
      return true;
    });
    if (!erased) return false;
    await this.scheduler?.forget(name);
    return true;
  }

  async clean(by?: Principal): Promise<string[]> {
    const names = (await this.store.sessions.all()).map((s) => s.name);
    await Promise.all(names.map((name) => this.delete(name, by ? { by } : {}).catch(ignoreNotFound)));
    return names;
  }

  /**
   * Records events for the session's last run and applies them to its state. This is the one
   * place where run states change, for the local executor and remote ones alike.
   *
   * `started` says the run's process exists: the run is `running` from that moment, with no event
   * (events are what the agent said; a remote executor's first event starts its run the same way).
   */
  async record(name: string, reported: EventInput[], options: RecordOptions = {}): Promise<Event[]> {
    return (await this.recordKept(name, reported, options)).events;
  }

  /** Like `record`, and the session as that write left it (a runner's report answers from it without reading it again). */
  async recordKept(
    name: string,
    reported: EventInput[],
    options: RecordOptions = {},
  ): Promise<{ events: Event[]; session: StoredSession }> {
    return this.work.exclusive(name, async (tx, told) => {
      const session = await this.require(name, tx.sessions);
      const admitted = admit(session, reported, options);
      if (!admitted) return { events: [], session };
      const { run, inputs } = admitted;
      // Most events (the agent's messages and tool calls) change the session's facts only.
      const unchanged = JSON.stringify(run);
      const now = options.lease || options.expired ? await tx.clock() : Date.now();
      const at = new Date(now).toISOString();
      const unnumbered: UnnumberedEvent[] = inputs.map((input) => ({
        session: name,
        run: run.number,
        type: input.type,
        at,
        data: boundStrings(recordedInput(run, input).data) as Record<string, unknown>,
      }));
      const { states, steps } = recordRun(session, run, inputs, now, {
        started: options.started,
        lease: options.lease,
        limits: this.limitPolicy,
      });
      // A run ended on the usage limit: its end's reason says so, and when it resumes (as its error).
      if (run.usage_limit && states.includes('stopped'))
        for (const event of unnumbered)
          if (event.type === 'session_stop') event.data = { ...event.data, reason: run.error };
      const changes: SessionChange[] = states.map((state) => ({ name, change: 'state', state, run: run.number, at }));
      // A start with no event (the process exists) stores nothing but the run's new state.
      const events = unnumbered.length ? await tx.events.append(name, unnumbered) : [];
      if (session.worktree && isFinal(run.state) && changes.length) {
        // The run's work as one commit of its own, before anyone hears that it ended (a merge waits for it).
        if (session.worktree.checkpoint)
          await commitCheckpoint(session.worktree.path, name, run.number, run.state).catch(() => null);
        session.worktree.has_changes = await hasChanges(session.worktree).catch(() => session.worktree!.has_changes);
      }
      session.updated_at = at;
      // The end and its notices are kept together (one transaction; the embedded store writes the
      // notices first, and an end written again later adds none: their ids come from the run).
      if (isFinal(run.state) && changes.length) await this.addRunEndNotices(tx, told, session, run);
      await tx.sessions.replace(session, JSON.stringify(run) === unchanged ? [] : [run]);
      told.events.push(...events);
      told.changes.push(...changes);
      if (this.work.runObservers.length && steps.length) told.runs = steps.map((what) => ({ what, session, run }));
      if (this.work.runObservers.length && events.length) told.recorded = { session, run, events };
      return { events, session };
    });
  }

  /**
   * The session's approval requests changed: its count of those waiting for an answer (its waiting
   * flag) is read again from the store while the session is held, so counts taken by several
   * processes at once end right, and every process is told (an `approvals` change), even when the
   * count stays.
   */
  async approvalsChanged(name: string): Promise<void> {
    await this.work.exclusive(name, async (tx, told) => {
      const session = await tx.sessions.find(name);
      if (!session) return;
      const pending = (await tx.approvals.find({ session: name, state: 'pending' })).length;
      if ((session.pending_approvals ?? 0) !== pending) {
        session.pending_approvals = pending;
        await tx.sessions.replace(session, []);
      }
      told.changes.push({
        name,
        change: 'approvals',
        state: lastRun(session).state,
        run: lastRun(session).number,
        at: new Date().toISOString(),
      });
    });
  }

  /**
   * Changes a stored session under its lock, without an event (leases, bookkeeping): `change` answers
   * what to return, or null to leave the session unwritten. `skipBusy`: answers null at once when the
   * session is being written now (a claim takes the next queued run instead of waiting).
   */
  async update<T>(
    name: string,
    change: (session: StoredSession, now: number) => T | null,
    options: { skipBusy?: boolean } = {},
  ): Promise<T | null> {
    return this.work.exclusive(
      name,
      async (tx) => {
        const session = await tx.sessions.find(name);
        if (!session) return null;
        const result = change(session, await tx.clock());
        if (result !== null) await tx.sessions.replace(session);
        return result;
      },
      options,
    );
  }

  /** Claude Code's conversation of the session as saved after its last run (gzip), or null. */
  loadConversation(name: string): Promise<Buffer | null> {
    return this.store.conversations.load(name);
  }

  /** Keeps the session's conversation (gzip) so that any host can resume it. */
  async saveConversation(name: string, data: Buffer): Promise<void> {
    await this.store.conversations.save(name, data);
  }

  /** The store's clock (the database's on PostgreSQL): what leases are judged by. */
  clock(): Promise<number> {
    return this.store.clock();
  }

  /** Leases the next queued run a runner may claim to it (see `SessionStore.claim`): which, under which attempt. */
  claim(request: ClaimRequest): Promise<ClaimedRunRef | null> {
    return this.store.sessions.claim(request);
  }

  /** Tells listeners that runs may be waiting for a runner (a claim's long poll wakes up). */
  wake(): void {
    this.bus.wake();
  }

  /** Runs may be waiting: queued through this process (`wake`), or through another one sharing the store. */
  onQueued(listener: () => void): () => void {
    return this.bus.onQueued(listener);
  }

  /** Keeps internal bookkeeping of a run (the executor's process handle) without an event. */
  async updateRun(name: string, runNumber: number, change: (run: StoredRun) => void): Promise<void> {
    await this.work.exclusive(name, async (tx) => {
      const session = await tx.sessions.find(name);
      const run = session?.runs.find((r) => r.number === runNumber);
      if (!session || !run) return;
      change(run);
      await tx.sessions.replace(session);
    });
  }

  /* ---------- listening ---------- */

  /** The session's events, in order, recorded here or by another runtime process on the same store. */
  onEvent(name: string, listener: (event: Event) => void): () => void {
    return this.bus.onEvent(name, listener);
  }

  /** Resolves once `onEvent` listeners added so far know where they start: read stored events after this. */
  following(name: string): Promise<void> {
    return this.bus.following(name);
  }

  /** Follows one session: its events (stored, then live, in order, each once), its changes, its end (session-bus.ts). */
  follow(name: string, follower: SessionFollower): () => void {
    return this.bus.follow(name, follower);
  }

  onDeleted(name: string, listener: () => void): () => void {
    return this.bus.onDeleted(name, listener);
  }

  /**
   * Every change, made here or by another runtime process on the same store. `local`: made by this
   * process. A side effect that must happen once and reacts to the others' changes too (callbacks)
   * needs the store to decide which process does it.
   */
  onChange(listener: (change: SessionChange, local: boolean) => void): () => void {
    return this.bus.onChange(listener);
  }

  /**
   * Changes of other processes may have been missed (the connection that tells of them was away and
   * is back): a follower that cannot catch up from the store (the changes stream) should say so.
   */
  onResync(listener: () => void): () => void {
    return this.bus.onResync(listener);
  }

  /* ---------- helpers ---------- */

  /* ---------- the worktree's changes ---------- */

  /** What the session changed in its worktree against its base commit (changes.ts). */
  async changes(name: string, options: ChangesOptions = {}): Promise<Changes> {
    return worktreeChanges(name, await this.worktreeOf(await this.require(name)), options);
  }

  /** The checkpoint commits on the session's branch, one per run that changed something (checkpoints.ts). */
  async checkpoints(name: string): Promise<CheckpointList> {
    return listCheckpoints(name, await this.worktreeOf(await this.require(name)));
  }

  /**
   * Merges what the session's worktree holds into another branch, touching no checkout (merge.ts).
   * With `resolve`, a conflict resumes the session with it and the merge waits for that run
   * (merge-followups.ts); `attempt` counts the conflicts sent back so far.
   */
  async merge(name: string, request: MergeRequest, attempt = 0): Promise<MergeResult | MergeResolving> {
    const session = await this.require(name);
    const worktree = await this.worktreeOf(session);
    const last = lastRun(session);
    if (!isFinal(last.state)) {
      throw conflict(
        `Session '${name}' is ${last.state}; wait for its run to end (or stop it) before merging what it changed`,
        'session-busy',
      );
    }
    try {
      return await mergeSessionBranch(name, worktree, request, this.worktreeRoot);
    } catch (error) {
      if (!request.resolve || !(error instanceof MergeConflict) || attempt >= MAX_RESOLVE_ATTEMPTS) throw error;
      const strategy = request.strategy ?? 'merge';
      const run = last.number + 1;
      // Expected before the run is queued: a quick run cannot end unheard.
      this.mergeFollowUps.expect(name, run, request, attempt + 1);
      try {
        await this.resume(name, conflictPrompt(worktree.branch, error.into, error.files, strategy));
      } catch (failure) {
        this.mergeFollowUps.expect(name, -1, request, attempt + 1);
        throw failure;
      }
      return { resolving: true, into: error.into, branch: worktree.branch, strategy, files: error.files, run };
    }
  }

  /**
   * A merge queue for the session's children: each child with a worktree, in creation order, merged
   * into `into` with `rebase` (on what the last one left) and `resolve` (a conflict goes back to it,
   * merged when its run ends). Problems with `into` itself stop the queue before anything is merged.
   */
  async mergeChildren(name: string, into: string): Promise<MergeQueueResult> {
    await this.require(name);
    const children = (await this.storedChildren(name)).sort(
      (a, b) => a.created_at.localeCompare(b.created_at) || a.name.localeCompare(b.name),
    );
    // A bad target is refused before any child is merged (once per repository the children work in).
    const checked = new Set<string>();
    for (const child of children) {
      if (!child.worktree || checked.has(child.worktree.repository)) continue;
      checked.add(child.worktree.repository);
      await checkMergeTarget(child.worktree, into);
    }
    const entries: MergeQueueEntry[] = [];
    for (const child of children) {
      const skip = (reason: string) => entries.push({ name: child.name, outcome: 'skipped', reason });
      if (!child.worktree) {
        skip('it has no worktree of its own');
        continue;
      }
      if (!isFinal(lastRun(child).state)) {
        skip(`it is ${lastRun(child).state}; merge the children again once it has ended`);
        continue;
      }
      try {
        const result = await this.merge(child.name, { into, strategy: 'rebase', resolve: true });
        entries.push(
          'resolving' in result
            ? { name: child.name, outcome: 'resolving', files: result.files, run: result.run }
            : { name: child.name, outcome: 'merged', commit: result.commit },
        );
      } catch (error) {
        const code = error instanceof HttpProblem ? error.code : undefined;
        if (code === 'branch-not-found' || code === 'branch-checked-out' || code === 'unprocessable') throw error;
        skip((error as Error).message);
      }
    }
    return { into, children: entries };
  }

  /** Pushes the session's branch and opens a GitHub pull request for it (pull-request.ts). */
  async pullRequest(name: string, request: PullRequestRequest, github: GitHubOptions): Promise<PullRequest> {
    const session = await this.require(name);
    const worktree = await this.worktreeOf(session);
    if (!isFinal(lastRun(session).state)) {
      throw conflict(
        `Session '${name}' is ${lastRun(session).state}; wait for its run to end (or stop it) before opening a pull request`,
        'session-busy',
      );
    }
    return openPullRequest(session, worktree, request, github);
  }

  /** Resumes the session with review comments on lines of its worktree, quoted in one prompt (review.ts). */
  async review(name: string, request: ReviewRequest): Promise<Session> {
    const session = await this.require(name);
    const worktree = await this.worktreeOf(session);
    const last = lastRun(session);
    if (!isFinal(last.state)) {
      throw conflict(
        `Session '${name}' is ${last.state}; wait for its run to end (or stop it) before sending it a review`,
        'session-busy',
      );
    }
    return this.resume(name, await reviewPrompt(worktree, request));
  }

  /** The session's own worktree, or a 409 that says where its work is instead. */
  private async worktreeOf(session: StoredSession): Promise<Worktree> {
    const { name, worktree } = session;
    if (!worktree) {
      const where = session.forked_from
        ? `it is a fork and works in the directory of session '${session.forked_from.session}': ask that session instead`
        : `it works in '${session.project_dir}' directly (use git there); sessions created with a worktree of their own (worktree: true) have their changes shown`;
      throw conflict(`Session '${name}' has no git worktree of its own; ${where}`, 'no-worktree');
    }
    if (!existsSync(worktree.path)) {
      throw conflict(
        `The worktree of session '${name}' ('${worktree.path}') is gone; what was committed is on branch ${worktree.branch}`,
        'no-worktree',
      );
    }
    return worktree;
  }

  private async checkProjectDir(dir: string | undefined): Promise<string> {
    if (dir === undefined) return this.defaultProjectDir;
    if (!isAbsolute(dir))
      throw unprocessable('body.project_dir', `must be an absolute path, not '${dir}'`, 'project-dir-invalid');
    const info = await stat(dir).catch(() => null);
    if (!info?.isDirectory())
      throw unprocessable('body.project_dir', `'${dir}' is not an existing directory`, 'project-dir-invalid');
    return dir;
  }

  /** The parent a new session names, checked: it exists, and it is not the session itself. */
  private async checkParent(input: SessionCreate): Promise<StoredSession | null> {
    if (input.parent === undefined || input.parent === null) {
      if (input.callback)
        throw unprocessable(
          'body.callback',
          'needs a parent to call back: set parent (or start the session from inside another one)',
        );
      return null;
    }
    if (input.parent === input.name) {
      throw new HttpProblem(422, `body.parent: session '${input.name}' cannot be its own parent`, {
        code: 'parent-cycle',
        errors: [{ field: 'body.parent', message: 'cannot be the session itself' }],
      });
    }
    const parent = await this.store.sessions.find(input.parent);
    if (!parent) {
      throw new HttpProblem(422, `body.parent: session '${input.parent}' not found`, {
        code: 'parent-not-found',
        errors: [{ field: 'body.parent', message: `session '${input.parent}' not found` }],
      });
    }
    return parent;
  }

  /** The blueprint's settings for the session, and its output schema (kept apart, see structured-output.ts). */
  private async checkBlueprint(name: string): Promise<
    Blueprint & {
      output_schema?: Record<string, unknown>;
      worktree?: boolean;
      worktree_setup?: WorktreeSetup;
      checkpoint?: boolean;
    }
  > {
    const agent = await this.blueprints.find(name);
    if (!agent) throw unprocessable('body.agent', `Agent '${name}' not found in the Agent Registry`, 'agent-not-found');
    if (agent.status !== 'active')
      throw unprocessable('body.agent', `Agent '${name}' is inactive; activate it first`, 'agent-inactive');
    const { status, ...blueprint } = agent;
    const keep: Blueprint = { name: blueprint.name };
    for (const key of [
      'cli',
      'system_prompt',
      'mcp_servers',
      'model',
      'permission_mode',
      'allowed_tools',
      'disallowed_tools',
      'approval',
      'limits',
      'warm',
      'warm_after_run',
      'resume_after_limit',
      'stall_after_seconds',
      'stall_action',
    ] as const) {
      if (blueprint[key] !== undefined) (keep as Record<string, unknown>)[key] = blueprint[key];
    }
    return {
      ...keep,
      ...(blueprint.output_schema ? { output_schema: blueprint.output_schema } : {}),
      ...(blueprint.worktree !== undefined ? { worktree: blueprint.worktree } : {}),
      ...(blueprint.worktree_setup ? { worktree_setup: blueprint.worktree_setup } : {}),
      ...(blueprint.checkpoint !== undefined ? { checkpoint: blueprint.checkpoint } : {}),
    };
  }
}

/**
 * The tags a runner needs to run the session: the ones asked for, and for a CLI other than Claude
 * Code its tag (runners tag themselves with the CLIs they have).
 */
function runnerTags(asked: readonly string[] | undefined, cli: CliName | undefined): { runner_tags?: string[] } {
  const tags = new Set(asked ?? []);
  if (cli && cli !== 'claude') tags.add(cliTag(cli));
  return tags.size ? { runner_tags: [...tags] } : {};
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof HttpProblem && error.status === 404)) throw error;
}

function boundStrings(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_EVENT_STRING
      ? `${value.slice(0, MAX_EVENT_STRING)}… [${value.length - MAX_EVENT_STRING} characters cut]`
      : value;
  }
  if (Array.isArray(value)) return value.map(boundStrings);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, boundStrings(v)]));
  }
  return value;
}
