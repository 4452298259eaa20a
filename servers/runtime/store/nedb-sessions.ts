import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/storage/data-dir.js';
import type { KeyedLock } from '../keyed-lock.js';
import { claim } from '../run-machine.js';
import { catalogueEntry, lastRun, type Blueprint, type StoredRun, type StoredSession } from '../session-store.js';
import { Catalogue, type SessionFilter, type StateCounts } from './catalogue.js';
import { compareListOrder, type ListPosition } from './cursor.js';
import { AppendHandle } from './append-handles.js';
import type { SessionStore } from './interfaces.js';
import {
  claimableKeys,
  factsOf,
  keyAllows,
  runsBySession,
  tagsKey,
  withRuns,
  type ClaimedRunRef,
  type ClaimRequest,
  type SessionFacts,
} from './run-records.js';

/** The parts of @seald-io/nedb that nedb-promises forwards but does not declare. */
interface NedbInternals<T> {
  getAllData(): T[];
  compactDatafileAsync(): Promise<void>;
}

/**
 * A blueprint's `mcp_servers` (env and header maps) take any key, and nedb refuses field names that
 * start with `$` or contain `.`: the blueprint is stored as JSON text. Documents written by earlier
 * versions hold a plain object; reading takes both. Documents written before runs had records of
 * their own hold the session's `runs` (nedb-migration.ts moves them out at start-up).
 */
export type SessionDocument = Omit<SessionFacts, 'blueprint'> & {
  blueprint: string | Blueprint | null;
  runs?: StoredRun[];
};

/**
 * A run's record in `runs.db`: `_id` is `session/number`. `queue` is set while the run is queued (its
 * tags key, run-records.ts) and absent otherwise: the sparse index on it is the run queue.
 * `lease_expires_at` copies the lease's end out of the lease, for the claim's look at live leases.
 */
export type RunDocument = StoredRun & {
  _id: string;
  session: string;
  queue?: string;
  lease_expires_at?: string;
};

const encode = (facts: SessionFacts): SessionDocument => ({
  ...facts,
  blueprint: facts.blueprint ? JSON.stringify(facts.blueprint) : null,
});
const decode = ({ runs, ...doc }: SessionDocument): SessionFacts => ({
  ...doc,
  blueprint: typeof doc.blueprint === 'string' ? (JSON.parse(doc.blueprint) as Blueprint) : doc.blueprint,
});

export const runId = (session: string, number: number): string => `${session}/${number}`;

/** A run's record, for the session whose runner tags it carries while queued. */
export function runDocument(session: Pick<StoredSession, 'name' | 'runner_tags'>, run: StoredRun): RunDocument {
  return {
    ...run,
    _id: runId(session.name, run.number),
    session: session.name,
    ...(run.state === 'queued' ? { queue: tagsKey(session.runner_tags) } : {}),
    ...(run.lease?.expires_at ? { lease_expires_at: run.lease.expires_at } : {}),
  };
}

const runOf = ({ _id, session, queue, lease_expires_at, ...run }: RunDocument): StoredRun => run;

/** Claims pass over at most this many queued runs that are being written right now, then answer none. */
const CLAIM_CANDIDATES = 16;

/**
 * Sessions in one nedb file (`sessions.db`), keyed by name (the `_id`), so two creations of one name
 * cannot both succeed; their runs in another (`runs.db`), one record per run. nedb keeps collections
 * in memory; a session is a few kilobytes, so 10,000 load in well under a second. Events live
 * elsewhere (the EventLog). Lists are answered from a catalogue of their few fields, since a nedb
 * query copies every document it returns; claims, from the indexes of `runs.db` (the queue by tags
 * key, the running runs by state, the live leases by their end).
 */
export class NedbSessionStore implements SessionStore {
  private readonly catalogue = new Catalogue();
  /** The runs in flight as `runs.db` holds them in memory, for the claim's count (see `InFlight`). */
  private readonly inFlight = new InFlight();
  /** Runs moved out of the sessions of an earlier version when this store was opened. */
  moved = 0;
  private readonly appends: AppendHandle[] = [];

  private constructor(
    private readonly sessions: Datastore<SessionDocument>,
    private readonly runs: Datastore<RunDocument>,
    private readonly lock: KeyedLock,
  ) {}

  static async open(dataDir: string, lock: KeyedLock): Promise<NedbSessionStore> {
    const sessions = await openCollection<SessionDocument>(dataDir, 'sessions.db', []);
    const runs = await openCollection<RunDocument>(dataDir, 'runs.db', RUN_INDEXES);
    for (const field of DROPPED_RUN_INDEXES)
      if ((runs as unknown as NedbIndexes<RunDocument>).indexes[field]) await runs.removeIndex(field);
    const store = new NedbSessionStore(sessions, runs, lock);
    store.moved = await moveRunsOut(sessions, runs);
    // The files a run's claim, start and end write to.
    store.appends.push(AppendHandle.of(sessions), AppendHandle.of(runs));
    const runDocs = (runs as unknown as NedbInternals<RunDocument>).getAllData();
    for (const doc of runDocs) store.inFlight.set(doc);
    const bySession = runsBySession(runDocs, (doc) => doc.session, runOf);
    for (const doc of (sessions as unknown as NedbInternals<SessionDocument>).getAllData()) {
      const list = bySession.get(doc._id);
      if (list) store.catalogue.set(catalogueEntry(withRuns(decode(doc), list)));
    }
    return store;
  }

  async insert(session: StoredSession): Promise<boolean> {
    try {
      await this.sessions.insert(encode(factsOf(session)));
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') return false;
      throw error;
    }
    // Runs of a name deleted while its session was being written would be taken as this session's.
    const docs = session.runs.map((run) => runDocument(session, run));
    try {
      await this.runs.remove({ session: session.name }, { multi: true });
      await this.runs.insert(docs);
    } finally {
      this.syncSession(session.name, docs);
    }
    this.catalogue.set(catalogueEntry(session));
    return true;
  }

  async find(name: string): Promise<StoredSession | null> {
    const [doc] = await lookUp(this.sessions, '_id', [name]);
    if (!doc) return null;
    // A session's document is written before its runs and removed before them: without runs it is being
    // made or removed right now, and is not there yet, or any more (as a list leaves it out).
    const runs = await this.runsOf(name);
    return runs.length ? withRuns(decode(doc), runs) : null;
  }

  async replace(session: StoredSession, runs: readonly StoredRun[] = [lastRun(session)]): Promise<void> {
    const undo: Array<() => Promise<unknown>> = [];
    const written: string[] = [];
    try {
      // The two files are appended to at once (each collection writes in turn on its own): a write
      // waits for the slower append, not for both one after the other.
      const docs = runs.map((run) => runDocument(session, run));
      written.push(...docs.map((doc) => doc._id));
      const writes = await Promise.allSettled([
        overwrite(this.sessions, encode(factsOf(session)) as SessionDocument & { _id: string }, undo, false),
        ...docs.map((doc) => overwrite(this.runs, doc, undo, true)),
      ]);
      const failed = writes.find((w): w is PromiseRejectedResult => w.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      // What was written of it is taken back: the session stays as it was, in memory as in its files.
      for (const step of undo.reverse()) await step().catch(() => undefined);
      throw error;
    } finally {
      for (const id of written) this.syncRun(id);
    }
    this.catalogue.set(catalogueEntry(session));
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.sessions.remove({ _id: name }, {});
    try {
      await this.runs.remove({ session: name }, { multi: true });
    } finally {
      this.syncSession(name, []);
    }
    this.catalogue.delete(name);
    return removed > 0;
  }

  async page(filter: SessionFilter, after: ListPosition | null, limit: number): Promise<StoredSession[]> {
    const names = this.catalogue.page(filter, after, limit);
    return this.assemble(names, await lookUp(this.sessions, '_id', names));
  }

  async counts(): Promise<StateCounts> {
    return this.catalogue.counts();
  }

  async all(): Promise<StoredSession[]> {
    const docs = await this.sessions.find({});
    return this.assemble(
      docs.map((d) => d._id),
      docs,
    ).then((sessions) => sessions.sort(compareListOrder));
  }

  /**
   * The first queued run `offer` may claim, leased to it by the run state machine under the session's
   * hold (a session being written now is passed over): looked up in the queue's index by the tags
   * keys the runner may take, so runs waiting for other runners cost nothing. Null when there is none,
   * or when the runs in flight reach `maxInFlight`.
   */
  async claim(request: ClaimRequest): Promise<ClaimedRunRef | null> {
    const now = Date.now();
    const at = new Date(now).toISOString();
    // In flight: running, or claimed under a live lease and not started yet; counted at one moment, so
    // that a run moving from the one to the other (its runner reporting its start) is counted once.
    if (this.inFlight.count(at) >= request.maxInFlight) return null;
    const keys = claimableKeys(request.offer);
    const candidates = keys
      ? await firstQueued(this.runs, keys, at, request, CLAIM_CANDIDATES)
      : await this.runs
          .find({
            queue: { $exists: true },
            stop_requested: { $ne: true },
            $or: [{ lease_expires_at: { $exists: false } }, { lease_expires_at: { $lte: at } }],
            ...(request.only || request.except?.length
              ? {
                  session: {
                    ...(request.only ? { $in: [...request.only] } : {}),
                    ...(request.except?.length ? { $nin: [...request.except] } : {}),
                  },
                }
              : {}),
          })
          .sort({ queued_at: 1, session: 1 })
          .project({ session: 1, queue: 1 });
    let looked = 0;
    for (const candidate of candidates) {
      if (!keys && !keyAllows(candidate.queue ?? '', request.offer.tags)) continue;
      if (looked++ >= CLAIM_CANDIDATES) break;
      const name = candidate.session;
      if (this.lock.busy(name)) continue;
      const claimed = await this.lock.run(name, async () => {
        const session = await this.find(name);
        if (!session) return null;
        const granted = claim(session, request.offer, Date.now(), request.leaseMs, request.secret);
        if (!granted) return null;
        const run = lastRun(session);
        const doc = runDocument(session, run);
        try {
          await this.runs.update({ _id: doc._id }, doc, {});
        } catch (error) {
          // nedb changed its memory before its file refused the append (EMFILE, ENOSPC): the lease
          // holds where this process judges leases (one process per data dir), and reaches the file
          // with the run's next write. A crash before then leaves the run queued, to be claimed again
          // at the next start, as a lease held at the crash would be.
          if (!(await this.runs.findOne({ _id: doc._id, 'lease.attempt': granted.attempt }))) throw error;
        } finally {
          this.syncRun(doc._id);
        }
        return { session: name, run: run.number, attempt: granted.attempt, stored: session };
      });
      if (claimed) return claimed;
    }
    return null;
  }

  /** Closes the files' handles (its collections append as nedb does by itself from then on). */
  async close(): Promise<void> {
    await Promise.all(this.appends.map((handle) => handle.close()));
  }

  async compact(): Promise<void> {
    await (this.sessions as unknown as NedbInternals<SessionDocument>).compactDatafileAsync();
    await (this.runs as unknown as NedbInternals<RunDocument>).compactDatafileAsync();
  }

  /** Brings the count of runs in flight in step with the run `id` as `runs.db` now holds it in memory. */
  private syncRun(id: string): void {
    const doc = held(this.runs, id);
    if (doc) this.inFlight.set(doc);
    else this.inFlight.delete(id);
  }

  /** Like `syncRun`, for every run of `session` the count holds and those of `docs`. */
  private syncSession(session: string, docs: readonly RunDocument[]): void {
    for (const id of [...this.inFlight.of(session), ...docs.map((doc) => doc._id)]) this.syncRun(id);
  }

  private async runsOf(name: string): Promise<StoredRun[]> {
    // Sorted here: a session has few runs, and a cursor's sort costs more than the find itself.
    return (await lookUp(this.runs, 'session', [name])).sort((a, b) => a.number - b.number).map(runOf);
  }

  /** The sessions of `docs` with their runs, in the order of `names`. */
  private async assemble(names: string[], docs: SessionDocument[]): Promise<StoredSession[]> {
    const byName = new Map(docs.map((d) => [d._id, d]));
    const runs = runsBySession(await lookUp(this.runs, 'session', names), (doc) => doc.session, runOf);
    return names.flatMap((name) => {
      const doc = byName.get(name);
      const list = runs.get(name);
      return doc && list ? [withRuns(decode(doc), list)] : [];
    });
  }
}

/**
 * Copies of the documents whose indexed `field` is one of `values`, in their order, read in the
 * collection's turn (after the writes queued before, as a find would be): a find with `$in` matches
 * every candidate against the whole list again, which costs the square of a long list (the sweeper
 * reads every active session).
 */
function lookUp<T>(collection: Datastore<T>, field: string, values: readonly string[]): Promise<T[]> {
  const nedb = collection as unknown as NedbIndexes<T> & {
    executor: { pushAsync<R>(task: () => Promise<R>): Promise<R> };
  };
  return nedb.executor.pushAsync(async () => {
    const index = nedb.indexes[field]!;
    return values.flatMap((value) => index.getMatching(value).map((doc) => structuredClone(doc)));
  });
}

/**
 * The first `limit` runs in the queue under `keys` that `request` may claim at `at` (not to be
 * stopped, under no live lease, among `only` and not `except`), in claim order (queued first, then by
 * session name): what a find on the queue's index sorted by claim order answers, read in the
 * collection's turn as a find is, without a find's copy of every queued run and its sort of them all.
 */
function firstQueued(
  collection: Datastore<RunDocument>,
  keys: readonly string[],
  at: string,
  request: ClaimRequest,
  limit: number,
): Promise<Array<Pick<RunDocument, 'session' | 'queue'>>> {
  const nedb = collection as unknown as NedbIndexes<RunDocument> & {
    executor: { pushAsync<R>(task: () => Promise<R>): Promise<R> };
  };
  const only = request.only ? new Set(request.only) : undefined;
  const except = request.except?.length ? new Set(request.except) : undefined;
  const before = (a: RunDocument, b: RunDocument) =>
    a.queued_at !== b.queued_at ? a.queued_at < b.queued_at : a.session < b.session;
  return nedb.executor.pushAsync(async () => {
    const first: RunDocument[] = [];
    for (const key of keys) {
      for (const doc of nedb.indexes.queue!.getMatching(key)) {
        if (doc.stop_requested === true || (doc.lease_expires_at !== undefined && doc.lease_expires_at > at)) continue;
        if ((only && !only.has(doc.session)) || except?.has(doc.session)) continue;
        if (first.length === limit && !before(doc, first[limit - 1]!)) continue;
        let i = Math.min(first.length, limit - 1);
        while (i > 0 && before(doc, first[i - 1]!)) i--;
        first.splice(i, 0, doc);
        if (first.length > limit) first.pop();
      }
    }
    return first.map((doc) => ({ session: doc.session, queue: doc.queue }));
  });
}

interface NedbIndexes<T> {
  indexes: Record<string, { getMatching(value: string): T[] }>;
}

/** The document of `id` as the collection holds it now: nedb replaces a document on update, never changes it. */
function held<T>(collection: Datastore<T>, id: string): T | undefined {
  return (collection as unknown as NedbIndexes<T>).indexes._id!.getMatching(id)[0];
}

/**
 * Writes `doc` over the document of its `_id` (or adds it: `upsert`), and pushes onto `undo` how to put back
 * what was there. nedb changes its memory first and then appends to its file: an append the system
 * refuses (EMFILE, ENOSPC, EROFS) leaves memory changed and the file not. Putting the old document
 * back changes memory back (its own append may fail too: the file never had the change).
 */
async function overwrite<T extends { _id: string }>(
  collection: Datastore<T>,
  doc: T,
  undo: Array<() => Promise<unknown>>,
  upsert: boolean,
): Promise<void> {
  const before = held(collection, doc._id);
  undo.push(() => (before ? collection.update({ _id: doc._id }, before, {}) : collection.remove({ _id: doc._id }, {})));
  await collection.update({ _id: doc._id }, doc, { upsert });
}

/**
 * The runs in flight (running, or queued under a lease) by their `_id`, with their lease's end: what
 * the cap counts, kept beside `runs.db` as its sparse queue index is, so that a claim counts the few
 * runs in flight instead of passing over every run record (nedb serves an `$or` from no index).
 */
class InFlight {
  private readonly runs = new Map<string, { session: string; running: boolean; expires: string | undefined }>();

  set(doc: RunDocument): void {
    if (doc.state === 'running' || (doc.state === 'queued' && doc.lease_expires_at !== undefined))
      this.runs.set(doc._id, { session: doc.session, running: doc.state === 'running', expires: doc.lease_expires_at });
    else this.runs.delete(doc._id);
  }

  delete(id: string): void {
    this.runs.delete(id);
  }

  /** The `_id`s of the runs of `session` held here. */
  of(session: string): string[] {
    return [...this.runs].filter(([, run]) => run.session === session).map(([id]) => id);
  }

  /** Running, or queued under a lease that ends after `at` (an ISO time, compared as nedb compares it). */
  count(at: string): number {
    let n = 0;
    for (const run of this.runs.values()) if (run.running || (run.expires !== undefined && run.expires > at)) n++;
    return n;
  }
}

/**
 * The indexes of `runs.db`: by session, and the queue (sparse: queued runs only). No index by state:
 * every write of a run would pass over all the runs of its state (nedb keeps a key's documents in
 * one array), and the runs in flight are counted from `InFlight`.
 */
export const RUN_INDEXES = [{ fieldName: 'session' }, { fieldName: 'queue', sparse: true }];

/** Indexes of `runs.db` that earlier versions made (nedb keeps an index in its file until it is removed). */
const DROPPED_RUN_INDEXES = ['state', 'lease_expires_at'];

/**
 * Moves the runs of sessions written by an earlier version (each session's `runs` in its document)
 * into records of their own, once; resolves with how many runs moved. Crash-safe: the run records are
 * written first (one whose `_id` is there already is kept), then every session loses its `runs` in
 * one update of the collection (one append to its file), so a crash in between only leaves the move
 * to be done again.
 */
async function moveRunsOut(sessions: Datastore<SessionDocument>, runs: Datastore<RunDocument>): Promise<number> {
  const legacy = (sessions as unknown as NedbInternals<SessionDocument>)
    .getAllData()
    .filter((doc) => Array.isArray(doc.runs));
  if (!legacy.length) return 0;
  const present = new Set((runs as unknown as NedbInternals<RunDocument>).getAllData().map((doc) => doc._id));
  const records = legacy.flatMap((doc) =>
    doc.runs!.map((run) => runDocument({ name: doc._id, runner_tags: doc.runner_tags }, run)),
  );
  const missing = records.filter((doc) => !present.has(doc._id));
  if (missing.length) await runs.insert(missing);
  await sessions.update({ runs: { $exists: true } }, { $unset: { runs: true } }, { multi: true });
  await (sessions as unknown as NedbInternals<SessionDocument>).compactDatafileAsync();
  await (runs as unknown as NedbInternals<RunDocument>).compactDatafileAsync();
  return records.length;
}
