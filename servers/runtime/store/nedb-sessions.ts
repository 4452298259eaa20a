import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/data-dir.js';
import { claimView, queueEntry, type ClaimView, type QueueEntry, type RunnerOffer } from '../leases.js';
import { catalogueEntry, type Blueprint, type StoredSession } from '../session-store.js';
import { Catalogue, type SessionFilter, type StateCounts } from './catalogue.js';
import { compareListOrder, type ListPosition } from './cursor.js';
import type { SessionStore } from './interfaces.js';

/** The parts of @seald-io/nedb that nedb-promises forwards but does not declare. */
interface NedbInternals<T> {
  getAllData(): T[];
  compactDatafileAsync(): Promise<void>;
}

/**
 * A blueprint's `mcp_servers` (env and header maps) take any key, and nedb refuses field names that
 * start with `$` or contain `.`: the blueprint is stored as JSON text. Documents written by earlier
 * versions hold a plain object; reading takes both.
 */
type SessionDocument = Omit<StoredSession, 'blueprint'> & { blueprint: string | Blueprint | null };

const encode = (session: StoredSession): SessionDocument => ({
  ...session,
  blueprint: session.blueprint ? JSON.stringify(session.blueprint) : null,
});
const decode = (doc: SessionDocument): StoredSession => ({
  ...doc,
  blueprint: typeof doc.blueprint === 'string' ? (JSON.parse(doc.blueprint) as Blueprint) : doc.blueprint,
});

/**
 * Sessions in one nedb file (`sessions.db`), keyed by name (the `_id`), so two creations of one name
 * cannot both succeed. nedb keeps the collection in memory; a session is its summary fields and runs,
 * a few kilobytes, so 10,000 sessions load in well under a second. Events live elsewhere (the
 * EventLog). Lists are answered from a catalogue of their few fields, since a nedb query copies
 * every document it returns; claims, from the run queue (the few fields of each waiting or running run).
 */
export class NedbSessionStore implements SessionStore {
  private readonly catalogue = new Catalogue();
  private readonly queue = new Map<string, QueueEntry>();

  private constructor(private readonly sessions: Datastore<SessionDocument>) {}

  static async open(dataDir: string): Promise<NedbSessionStore> {
    const sessions = await openCollection<SessionDocument>(dataDir, 'sessions.db', []);
    const store = new NedbSessionStore(sessions);
    for (const doc of (sessions as unknown as NedbInternals<SessionDocument>).getAllData()) store.track(decode(doc));
    return store;
  }

  async insert(session: StoredSession): Promise<boolean> {
    try {
      await this.sessions.insert(encode(session));
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') return false;
      throw error;
    }
    this.track(session);
    return true;
  }

  async find(name: string): Promise<StoredSession | null> {
    const doc = await this.sessions.findOne({ _id: name });
    return doc ? decode(doc) : null;
  }

  async replace(session: StoredSession): Promise<void> {
    await this.sessions.update({ _id: session._id }, encode(session), {});
    this.track(session);
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.sessions.remove({ _id: name }, {});
    this.catalogue.delete(name);
    this.queue.delete(name);
    return removed > 0;
  }

  async page(filter: SessionFilter, after: ListPosition | null, limit: number): Promise<StoredSession[]> {
    const names = this.catalogue.page(filter, after, limit);
    const docs = await this.sessions.find({ _id: { $in: names } });
    const byName = new Map(docs.map((d) => [d._id, d]));
    return names
      .map((n) => byName.get(n))
      .filter((d): d is SessionDocument => d !== undefined)
      .map(decode);
  }

  async counts(): Promise<StateCounts> {
    return this.catalogue.counts();
  }

  async all(): Promise<StoredSession[]> {
    return (await this.sessions.find({})).map(decode).sort(compareListOrder);
  }

  async claimView(offer: Pick<RunnerOffer, 'tags'>, now: number, limit: number): Promise<ClaimView> {
    return claimView([...this.queue.values()], offer, now, limit);
  }

  async compact(): Promise<void> {
    await (this.sessions as unknown as NedbInternals<SessionDocument>).compactDatafileAsync();
  }

  /** Keeps the catalogue and the run queue in step with what is stored. */
  private track(session: StoredSession): void {
    this.catalogue.set(catalogueEntry(session));
    const entry = queueEntry(session);
    if (entry) this.queue.set(session.name, entry);
    else this.queue.delete(session.name);
  }
}
