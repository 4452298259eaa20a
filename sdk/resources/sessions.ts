import type { Client } from 'openapi-fetch';
import type { paths } from '../generated/runtime.js';
import { backoffMs } from '../backoff.js';
import { FINAL_STATES } from '../generated/rules.js';
import { ConnectionError, OrchestratorError, WaitTimeoutError } from '../errors.js';
import { EventStream, followSse, sleep, type SseMessage } from '../event-stream.js';
import { data } from '../http.js';
import type {
  Event,
  EventInput,
  EventPage,
  ForkCreate,
  RunCreate,
  RunState,
  Session,
  SessionChange,
  SessionCreate,
  SessionEvent,
  SessionPage,
  SessionResult,
  SessionSummary,
  SessionStatus,
  SessionTree,
  Callback,
  Changes,
  CheckpointList,
  MergeRequest,
  MergeChildrenRequest,
  MergeQueueResult,
  MergeResolving,
  MergeResult,
  PullRequest,
  PullRequestRequest,
  ReviewRequest,
  UsageReport,
} from '../types.js';

const SERVICE = 'Agent Runtime';
const MAX_WAIT_SECONDS = 300; // the contract's maximum for `?wait=`

export interface StreamOptions {
  /** Cancels the request; the loop then throws the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Reconnects in a row that may fail before the stream gives up with a ConnectionError. Default 5. */
  maxRetries?: number | undefined;
  /** Told before each reconnect after a drop, with what broke the connection. */
  onRetry?: ((error: unknown) => void) | undefined;
}

export interface EventsStreamOptions extends StreamOptions {
  /** Start after this sequence number (default: replay from the first event). */
  after?: number | undefined;
}

/** Which sessions to list; every filter given must hold. */
export interface ListOptions {
  /** Sessions in this state, or in any of these states. */
  state?: RunState | readonly RunState[] | undefined;
  /** Started from this blueprint. */
  agent?: string | undefined;
  /** Whose name starts with this. */
  prefix?: string | undefined;
  /** Working in this directory (exact). */
  project_dir?: string | undefined;
  /** Children of this session (whose `parent` it is). */
  parent?: string | undefined;
  /** Waiting (true) or not (false) for an answer to an approval request. */
  waiting?: boolean | undefined;
  /** Sessions per page, 1 to 500 (server default 100). */
  limit?: number | undefined;
}

/** What to ask of a session's changes. */
export interface DiffOptions {
  /** Only this changed file (its path in the repository). */
  file?: string | undefined;
  /** The file list and counts only, no patch. */
  stat?: boolean | undefined;
  /** The patch's cap in bytes (server default 1 MiB). */
  maxBytes?: number | undefined;
}

export interface WaitOptions {
  /** Give up with a WaitTimeoutError after this long. Default: wait as long as it takes. */
  timeoutMs?: number | undefined;
  /** How long each long-poll of the status may last on the server, in seconds (1 to 300). Default 30. */
  pollSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * A lost connection (a runtime restarting) is retried with backoff until the timeout, or until it
   * has been down this long without one. Default 300,000 (5 min); 0 fails at the first.
   */
  reconnectMs?: number | undefined;
  /** Told when the runtime stops answering, once per outage, with until when the wait keeps retrying. */
  onUnreachable?: ((error: ConnectionError, retryingUntil: Date) => void) | undefined;
  /** Told when the runtime answers again after an outage. */
  onReachable?: (() => void) | undefined;
}

/** Sessions in the Agent Runtime: `ao.sessions`. */
export class Sessions {
  constructor(
    private readonly client: Client<paths>,
    private readonly baseUrl: string,
    /** The parent of the sessions this client creates: inside an agent, its own session. */
    readonly defaultParent?: string | undefined,
  ) {}

  /**
   * Creates a session and queues its first run. Without `parent`, the client's (from inside an agent,
   * its own session); `parent: null` starts a session without one.
   */
  create(input: SessionCreate): Promise<Session> {
    const parent = input.parent !== undefined ? input.parent : this.defaultParent;
    const body = { ...input };
    if (parent) body.parent = parent;
    else delete body.parent;
    return data(this.client.POST('/sessions', { body }));
  }

  /** The session and all its descendants, each with its own and rolled-up usage and cost. */
  tree(name: string): Promise<SessionTree> {
    return data(this.client.GET('/sessions/{name}/tree', { params: { path: { name } } }));
  }

  /**
   * What the session changed in its worktree against the commit its branch was made from (committed,
   * uncommitted and untracked): the files with their counts, and a unified patch within a size cap.
   * 409 `no-worktree` for a session without a worktree; 404 `file-not-found` for a file it did not change.
   */
  diff(name: string, options: DiffOptions = {}): Promise<Changes> {
    const query = {
      ...(options.file !== undefined ? { file: options.file } : {}),
      ...(options.stat ? { stat: true } : {}),
      ...(options.maxBytes !== undefined ? { max_bytes: options.maxBytes } : {}),
    };
    return data(this.client.GET('/sessions/{name}/changes', { params: { path: { name }, query } }));
  }

  /**
   * The checkpoint commits on the session's branch (a session with `checkpoint`: one commit per run
   * that changed something), oldest first, each with the files it changed.
   */
  checkpoints(name: string): Promise<CheckpointList> {
    return data(this.client.GET('/sessions/{name}/checkpoints', { params: { path: { name } } }));
  }

  /**
   * Merges what the session's worktree holds (its uncommitted work committed first) into branch
   * `into`, without touching any checkout. 409 `merge-conflict` names the conflicting files and
   * changes nothing; 409 `branch-checked-out` when `into` is checked out somewhere. With
   * `resolve: true`, a conflict resumes the session with it instead and answers `MergeResolving`
   * (the run queued); the merge is tried again when that run ends.
   */
  merge(name: string, request: MergeRequest & { resolve: true }): Promise<MergeResult | MergeResolving>;
  merge(name: string, request: MergeRequest & { resolve?: false }): Promise<MergeResult>;
  merge(name: string, request: MergeRequest): Promise<MergeResult | MergeResolving>;
  merge(name: string, request: MergeRequest): Promise<MergeResult | MergeResolving> {
    return data(this.client.POST('/sessions/{name}/merge', { params: { path: { name } }, body: request }));
  }

  /**
   * A merge queue: merges each of the session's children with a worktree, in creation order, into
   * `into` (rebased on the last one merged); a child that conflicts is sent its conflict and merged
   * when that run ends. Lists what happened to each.
   */
  mergeChildren(name: string, request: MergeChildrenRequest): Promise<MergeQueueResult> {
    return data(this.client.POST('/sessions/{name}/merge-children', { params: { path: { name } }, body: request }));
  }

  /**
   * Pushes the session's branch `aof/<name>` (its uncommitted work committed first) to a remote
   * (`origin` by default) and opens a GitHub pull request for it into `base` (the remote's default
   * branch by default), described from the session's result; an open one from that branch is
   * returned (`created: false`). The runtime's GitHub token does it (AGENT_ORCHESTRATOR_GITHUB_TOKEN).
   */
  pullRequest(name: string, request: PullRequestRequest = {}): Promise<PullRequest> {
    return data(this.client.POST('/sessions/{name}/pr', { params: { path: { name } }, body: request }));
  }

  /**
   * Sends review comments on lines of the session's worktree back to it: one generated prompt quotes
   * each line with its comment, and resumes the session with it (its next run is the fix). 422 names
   * a comment whose file or line is not in the worktree.
   */
  review(name: string, request: ReviewRequest): Promise<Session> {
    return data(this.client.POST('/sessions/{name}/review', { params: { path: { name } }, body: request }));
  }

  /** The callbacks children sent (or are about to send) to this session. */
  async callbacks(name: string): Promise<Callback[]> {
    return (await data(this.client.GET('/sessions/{name}/callbacks', { params: { path: { name } } }))).callbacks;
  }

  /** Queues a further run that continues the conversation (409 while a run is active). */
  resume(name: string, input: RunCreate): Promise<Session> {
    return data(
      this.client.POST('/sessions/{name}/runs', { params: { path: { name } }, body: { prompt: input.prompt } }),
    );
  }

  /**
   * Creates a new session (`input.name`) that continues `source`'s conversation as it stands, and
   * queues its first run with `input.prompt`. The source is left untouched; the fork records it in
   * `forked_from`. A ConflictError while the source's run is active.
   */
  fork(source: string, input: ForkCreate): Promise<Session> {
    return data(
      this.client.POST('/sessions/{name}/fork', {
        params: { path: { name: source } },
        body: { name: input.name, prompt: input.prompt },
      }),
    );
  }

  get(name: string): Promise<Session> {
    return data(this.client.GET('/sessions/{name}', { params: { path: { name } } }));
  }

  /** The session's state; with `wait`, the server holds the answer up to that many seconds for the run to end. */
  status(
    name: string,
    options: { wait?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<SessionStatus> {
    return data(
      this.client.GET('/sessions/{name}/status', {
        params: { path: { name }, query: options.wait === undefined ? {} : { wait: options.wait } },
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  }

  /** The outcome of the last run; a ConflictError while it is still queued or running. */
  result(name: string): Promise<SessionResult> {
    return data(this.client.GET('/sessions/{name}/result', { params: { path: { name } } }));
  }

  /**
   * One page of session summaries, last activity first, with `counts` of every session by state.
   * Pass the page's `next_cursor` as `cursor` for the next one (null on the last page), or use
   * {@link Sessions.iterate} to walk them all.
   */
  list(options: ListOptions & { cursor?: string | undefined } = {}): Promise<SessionPage> {
    const { state, ...rest } = options;
    const query: NonNullable<paths['/sessions']['get']['parameters']['query']> = {};
    for (const [key, value] of Object.entries(rest))
      if (value !== undefined) (query as Record<string, unknown>)[key] = value;
    if (state !== undefined) query.state = typeof state === 'string' ? [state] : [...state];
    return data(this.client.GET('/sessions', { params: { query } }));
  }

  /**
   * Every matching session, page by page, as an async iterable: `for await (const s of
   * ao.sessions.iterate({ state: 'failed' }))`. A page is requested only when the loop reaches it,
   * so `break` stops the requests.
   */
  async *iterate(options: ListOptions = {}): AsyncGenerator<SessionSummary, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...options, cursor });
      yield* page.sessions;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** The same as {@link Sessions.iterate}. */
  listAll(options: ListOptions = {}): AsyncGenerator<SessionSummary, void, undefined> {
    return this.iterate(options);
  }

  /** A page of stored events; follow `has_more` with `after` = the last `seq`. */
  listEvents(
    name: string,
    options: { after?: number | undefined; limit?: number | undefined } = {},
  ): Promise<EventPage> {
    const query: { after?: number; limit?: number } = {};
    if (options.after !== undefined) query.after = options.after;
    if (options.limit !== undefined) query.limit = options.limit;
    return data(this.client.GET('/sessions/{name}/events', { params: { path: { name }, query } }));
  }

  /** Records events reported by an executor that runs elsewhere; returns them with their `seq`. */
  async appendEvents(name: string, events: EventInput[]): Promise<Event[]> {
    return (await data(this.client.POST('/sessions/{name}/events', { params: { path: { name } }, body: { events } })))
      .events;
  }

  /**
   * Follows a session's events live: the stored ones after `after` first, then new ones as they are
   * recorded. The stream never ends by itself; `break` when you have seen enough (a `session_stop`
   * event, say). A dropped connection is resumed from the last event seen.
   */
  events(name: string, options: EventsStreamOptions = {}): EventStream<SessionEvent> {
    const client = this.client;
    const baseUrl = this.baseUrl;
    return new EventStream<SessionEvent>(async function* (signal) {
      let lastSeq = options.after ?? 0;
      const messages = followSse(
        SERVICE,
        baseUrl,
        async (signal, lastEventId) => {
          const query = options.after === undefined ? {} : { after: options.after };
          const header = lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId };
          return data(
            client.GET('/sessions/{name}/events/stream', {
              params: { path: { name }, query, header },
              parseAs: 'stream',
              signal,
            }),
          );
        },
        signal,
        { resume: true, maxRetries: options.maxRetries, onRetry: options.onRetry },
      );
      for await (const message of messages) {
        const event = parseData<SessionEvent>(message, 'event');
        if (typeof event.seq !== 'number')
          throw new OrchestratorError(`${SERVICE} sent an event without a seq: ${message.data.slice(0, 200)}`);
        if (event.seq <= lastSeq) continue; // already seen before a reconnect
        lastSeq = event.seq;
        yield event;
      }
    }, options.signal);
  }

  /**
   * Follows changes to every session (created, changed state, deleted), for dashboards. Nothing is
   * replayed: call `list()` first. A dropped connection ends the loop with a ConnectionError, since
   * changes made meanwhile cannot be recovered; list again and call `changes()` again. The server
   * ends the stream itself when it may have missed changes (replicas whose database was away).
   */
  changes(options: StreamOptions = {}): EventStream<SessionChange> {
    const client = this.client;
    const baseUrl = this.baseUrl;
    return new EventStream<SessionChange>(async function* (signal) {
      const messages = followSse(
        SERVICE,
        baseUrl,
        (signal) => data(client.GET('/events/stream', { parseAs: 'stream', signal })),
        signal,
        { resume: false },
      );
      for await (const message of messages) {
        if (message.event !== undefined && message.event !== 'session') continue;
        yield parseData<SessionChange>(message, 'session change');
      }
    }, options.signal);
  }

  /**
   * Waits until the session's last run has ended (`finished`, `failed` or `stopped`), then returns
   * its result. Uses the server's long-poll (`status?wait=`), so it answers as soon as the run ends.
   */
  async waitForResult(name: string, options: WaitOptions = {}): Promise<SessionResult> {
    const pollSeconds = Math.max(1, Math.min(MAX_WAIT_SECONDS, Math.floor(options.pollSeconds ?? 30)));
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const reconnectMs = options.reconnectMs ?? 300_000;
    let state: RunState | undefined;
    let downSince: number | undefined;
    let failures = 0;
    for (;;) {
      const remainingMs = deadline - Date.now();
      const wait = Math.max(0, Math.min(pollSeconds, Math.floor(remainingMs / 1000)));
      const started = Date.now();
      try {
        state = (await this.status(name, { wait, signal: options.signal })).state;
        if (downSince !== undefined) options.onReachable?.();
        downSince = undefined;
        if (FINAL_STATES.has(state)) return await this.result(name);
      } catch (error) {
        if (!(error instanceof ConnectionError) || options.signal?.aborted) throw error;
        if (downSince === undefined && reconnectMs > 0)
          options.onUnreachable?.(error, new Date(Math.min(deadline, started + reconnectMs)));
        downSince ??= started;
        const backoff = backoffMs(failures++, 250);
        if (Date.now() + backoff >= Math.min(deadline, downSince + reconnectMs)) throw error;
        await sleep(backoff, options.signal);
        continue;
      }
      failures = 0;
      if (Date.now() >= deadline) throw new WaitTimeoutError(name, options.timeoutMs ?? 0, state);
      // Less than a second left (wait=0), or a server that answered early: don't spin.
      const pause = Math.min(250 - (Date.now() - started), deadline - Date.now());
      if (pause > 0) await sleep(pause, options.signal);
    }
  }

  /** Stops the active run (its whole process group); idempotent. `tree`: also every descendant's. */
  stop(name: string, options: { tree?: boolean } = {}): Promise<Session> {
    return data(
      this.client.POST('/sessions/{name}/stop', {
        params: { path: { name }, query: options.tree ? { tree: true } : {} },
      }),
    );
  }

  /**
   * Deletes a session and its events, stopping its run first. `tree`: its descendants too. A session
   * with a worktree: what it left uncommitted is committed to its branch `aof/<name>`, which is kept
   * unless `discard`.
   */
  async delete(
    name: string,
    options: { tree?: boolean | undefined; discard?: boolean | undefined } = {},
  ): Promise<void> {
    const query = { ...(options.tree ? { tree: true } : {}), ...(options.discard ? { discard: true } : {}) };
    await data(this.client.DELETE('/sessions/{name}', { params: { path: { name }, query } }));
  }

  /** Tokens, cost and time per session, per agent, per day and in total; optionally only some sessions. */
  usage(options: { agent?: string | undefined; sessions?: string[] | undefined } = {}): Promise<UsageReport> {
    const query = {
      ...(options.agent ? { agent: options.agent } : {}),
      ...(options.sessions?.length ? { sessions: options.sessions.join(',') } : {}),
    };
    return data(this.client.GET('/usage', { params: { query } }));
  }

  /**
   * Deletes sessions that have ended and are older than `before` (last activity) and beyond the
   * `keep` most recently active; give one or both. Returns the names deleted. Active sessions stay.
   */
  async prune(options: { before?: Date | string | undefined; keep?: number | undefined }): Promise<string[]> {
    const body: { before?: string; keep?: number } = {};
    if (options.before !== undefined)
      body.before = options.before instanceof Date ? options.before.toISOString() : options.before;
    if (options.keep !== undefined) body.keep = options.keep;
    return (await data(this.client.POST('/sessions/prune', { body }))).deleted;
  }

  /** Stops every run and deletes every session (whoever started it); returns the names deleted. */
  async clean(): Promise<string[]> {
    return (await data(this.client.DELETE('/sessions', { params: { query: { all: true } } }))).deleted;
  }
}

function parseData<T>(message: SseMessage, what: string): T {
  try {
    return JSON.parse(message.data) as T;
  } catch {
    throw new OrchestratorError(`${SERVICE} sent a ${what} that is not JSON: ${message.data.slice(0, 200)}`);
  }
}
