import type Datastore from 'nedb-promises';
import type { components } from '../../sdk/generated/runtime.js';
import { openCollection } from '../common/data-dir.js';

export type Session = components['schemas']['Session'];
export type Run = components['schemas']['Run'];
export type RunState = components['schemas']['RunState'];
export type Event = components['schemas']['Event'];
export type EventInput = components['schemas']['EventInput'];
export type Blueprint = components['schemas']['Blueprint'];
export type Usage = components['schemas']['Usage'];

/** A run as stored: the contract's fields plus what the runtime keeps for itself. */
export interface StoredRun extends Run {
  /** Set when a stop was asked for, so the end of the process reads as `stopped`. */
  stop_requested?: boolean;
  /** The executor's handle on the process (pid, start marker), to re-adopt it after a restart. */
  process?: { pid: number; started: string };
  /** Whether the result line said success; decides finished vs failed when the process ends. */
  outcome?: 'success' | 'error';
  /** Set when the run's answer broke its output schema and the agent was asked once more (structured-output.ts). */
  retry?: OutputRetry;
}

/** The second attempt of a run: its prompt, and what the first attempt recorded and billed. */
export interface OutputRetry {
  prompt: string;
  /** Events of the run recorded before the retry started (a restarted runtime skips them). */
  events_before: number;
  usage: Usage | null;
  cost_usd: number | null;
  num_turns: number | null;
  duration_ms: number | null;
}

export interface StoredSession extends Omit<Session, 'runs' | 'totals' | 'state' | 'output_schema'> {
  _id: string;
  runs: StoredRun[];
  /** The output schema as JSON text (see structured-output.ts). */
  output_schema?: string | null;
  /** Claude Code has opened the conversation (an init line was seen), so later runs resume it. */
  conversation_started?: boolean;
}

interface StoredEvent extends Omit<Event, 'data'> {
  _id?: string;
  /** `<session>/<seq, zero-padded>`: one index answers a page of one session as a range. */
  key: string;
  /** JSON text (see `SessionDocument`); a plain object in events written before. */
  data: string | Event['data'];
}

/**
 * Event data (a tool's input) and a blueprint's `mcp_servers` (env and header maps) take any key,
 * and nedb refuses field names that start with `$` or contain `.`: they are stored as JSON text.
 * Documents written before hold plain objects; reading takes both.
 */
type SessionDocument = Omit<StoredSession, 'blueprint'> & { blueprint: string | Blueprint | null };

const encodeSession = (session: StoredSession): SessionDocument =>
  ({ ...session, blueprint: session.blueprint ? JSON.stringify(session.blueprint) : null });
const decodeSession = (doc: SessionDocument): StoredSession =>
  ({ ...doc, blueprint: typeof doc.blueprint === 'string' ? JSON.parse(doc.blueprint) as Blueprint : doc.blueprint });

// Names cannot hold '/', so one session's keys form a contiguous range, in seq order.
const eventKey = (session: string, seq: number) => `${session}/${String(seq).padStart(15, '0')}`;

export const FINAL_STATES: ReadonlySet<RunState> = new Set(['finished', 'failed', 'stopped']);
export const isFinal = (state: RunState) => FINAL_STATES.has(state);

/**
 * Sessions and events in two nedb files owned by this process. Sessions are keyed by name (the
 * `_id`), so two creations of one name cannot both succeed; events carry a per-session `seq`
 * guarded by a unique compound index.
 */
export class SessionStore {
  private constructor(
    private readonly sessions: Datastore<SessionDocument>,
    private readonly events: Datastore<StoredEvent>,
  ) {}

  static async open(dataDir: string): Promise<SessionStore> {
    const sessions = await openCollection<SessionDocument>(dataDir, 'sessions.db', []);
    const events = await openCollection<StoredEvent>(dataDir, 'events.db', [
      { fieldName: 'session' },
      { fieldName: 'key', unique: true },
    ]);
    return new SessionStore(sessions, events);
  }

  /** Inserts a new session; resolves false when the name is taken. */
  async insert(session: StoredSession): Promise<boolean> {
    try {
      await this.sessions.insert(encodeSession(session));
      return true;
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') return false;
      throw error;
    }
  }

  async find(name: string): Promise<StoredSession | null> {
    const doc = await this.sessions.findOne({ _id: name });
    return doc ? decodeSession(doc) : null;
  }

  async all(): Promise<StoredSession[]> {
    return (await this.sessions.find({}).sort({ created_at: -1, _id: 1 })).map(decodeSession);
  }

  async replace(session: StoredSession): Promise<void> {
    await this.sessions.update({ _id: session._id }, encodeSession(session), {});
  }

  async remove(name: string): Promise<void> {
    await this.events.remove({ session: name }, { multi: true });
    await this.sessions.remove({ _id: name }, {});
  }

  async lastSeq(name: string): Promise<number> {
    const [last] = await this.events.find({ session: name }).sort({ seq: -1 }).limit(1);
    return last?.seq ?? 0;
  }

  async countEvents(name: string, run: number, exceptType: string): Promise<number> {
    return this.events.count({ session: name, run, type: { $ne: exceptType } });
  }

  async appendEvents(events: Event[]): Promise<void> {
    await this.events.insert(events.map((e) => ({ ...e, data: JSON.stringify(e.data), key: eventKey(e.session, e.seq) })));
  }

  async eventsAfter(name: string, after: number, limit: number): Promise<Event[]> {
    // Sequence numbers have no gaps, so the page is exactly the keys after..after+limit: a range
    // on the key index touches only those events, however long the session.
    const docs = await this.events.find({ key: { $gt: eventKey(name, after), $lte: eventKey(name, after + limit) } }).sort({ key: 1 });
    return docs.map(({ _id, key, data, ...event }) => ({ ...event, data: typeof data === 'string' ? JSON.parse(data) as Event['data'] : data }));
  }
}

/** The contract's view of a stored session: its state is its last run's, its totals are summed. */
export function toSession(stored: StoredSession): Session {
  const { _id, runs, conversation_started, output_schema, ...rest } = stored;
  const publicRuns = runs.map(({ stop_requested, process, outcome, retry, ...run }) => run);
  const usage: Usage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  let cost = 0;
  let duration = 0;
  for (const run of publicRuns) {
    if (run.usage) for (const key of Object.keys(usage) as Array<keyof Usage>) usage[key] += run.usage[key];
    cost += run.cost_usd ?? 0;
    duration += run.duration_ms ?? 0;
  }
  return {
    ...rest,
    ...(output_schema ? { output_schema: JSON.parse(output_schema) as Record<string, unknown> } : {}),
    state: lastRun(stored).state,
    runs: publicRuns,
    totals: { runs: publicRuns.length, usage, cost_usd: Math.round(cost * 1e8) / 1e8, duration_ms: duration },
  };
}

export function lastRun(session: StoredSession): StoredRun {
  const run = session.runs[session.runs.length - 1];
  if (!run) throw new Error(`session ${session._id} has no runs`);
  return run;
}

export function newRun(number: number, prompt: string): StoredRun {
  return {
    number,
    prompt,
    state: 'queued',
    queued_at: new Date().toISOString(),
    started_at: null,
    ended_at: null,
    exit_code: null,
    error: null,
    result: null,
    usage: null,
    cost_usd: null,
    num_turns: null,
    duration_ms: null,
  };
}
