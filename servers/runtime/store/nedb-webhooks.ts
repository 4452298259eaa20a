import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/storage/data-dir.js';
import { KeyedLock } from '../keyed-lock.js';
import type {
  NewWebhookDelivery,
  WebhookDelivery,
  WebhookDeliveryState,
  WebhookOutcome,
  WebhookStore,
} from './interfaces.js';

/** Times as milliseconds since the epoch, so nedb compares and sorts them as numbers. */
interface WebhookDocument extends NewWebhookDelivery {
  _id: string;
  state: WebhookDeliveryState;
  attempts: number;
  created_at: number;
  next_try_at: number;
  last_error: string | null;
  finished_at: number | null;
  claimed_by: string | null;
  claimed_until: number | null;
}

/**
 * The webhook outbox in one nedb file of the data dir (`webhooks.db`), keyed by delivery id. One
 * process uses a data dir, so claims left by a process that died are let go at open, and claims take
 * turns here (nedb runs one operation at a time, a claim is several).
 */
export class NedbWebhookStore implements WebhookStore {
  private readonly turns = new KeyedLock();

  private constructor(private readonly db: Datastore<WebhookDocument>) {}

  static async open(dataDir: string): Promise<NedbWebhookStore> {
    const db = await openCollection<WebhookDocument>(dataDir, 'webhooks.db', [
      { fieldName: 'session' },
      { fieldName: 'state' },
    ]);
    await db.update(
      { claimed_by: { $ne: null } },
      { $set: { claimed_by: null, claimed_until: null } },
      { multi: true },
    );
    return new NedbWebhookStore(db);
  }

  async add(deliveries: NewWebhookDelivery[]): Promise<void> {
    if (!deliveries.length) return;
    await this.turns.run('', async () => {
      const now = Date.now();
      const docs = [...new Map(deliveries.map((d) => [d.id, d])).values()].map(
        (d): WebhookDocument => ({
          _id: d.id,
          id: d.id,
          session: d.session,
          run: d.run,
          url: d.url,
          body: d.body,
          state: 'pending',
          attempts: 0,
          created_at: now,
          next_try_at: now,
          last_error: null,
          finished_at: null,
          claimed_by: null,
          claimed_until: null,
        }),
      );
      try {
        // One write, as a run's end almost always brings new ids; nedb inserts all of them or none.
        await this.db.insert(docs);
      } catch (error) {
        if ((error as { errorType?: string }).errorType !== 'uniqueViolated') throw error;
        const known = new Set((await this.db.find({ _id: { $in: docs.map((d) => d._id) } })).map((d) => d._id));
        const fresh = docs.filter((d) => !known.has(d._id));
        if (fresh.length) await this.db.insert(fresh);
      }
    });
  }

  async get(id: string): Promise<WebhookDelivery | null> {
    const doc = await this.db.findOne({ _id: id });
    return doc ? fromDocument(doc) : null;
  }

  async find(query: { session: string }): Promise<WebhookDelivery[]> {
    return (await this.db.find({ session: query.session }).sort({ created_at: 1, _id: 1 })).map(fromDocument);
  }

  claim(claimant: string, claimMs: number, limit: number): Promise<WebhookDelivery[]> {
    return this.turns.run('', async () => {
      const now = Date.now();
      const due = await this.db
        .find({
          state: 'pending',
          next_try_at: { $lte: now },
          $or: [{ claimed_until: null }, { claimed_until: { $lte: now } }],
        })
        .sort({ next_try_at: 1, _id: 1 })
        .limit(limit);
      const until = now + claimMs;
      for (const doc of due)
        await this.db.update({ _id: doc._id }, { $set: { claimed_by: claimant, claimed_until: until } }, {});
      return due.map((doc) => fromDocument({ ...doc, claimed_by: claimant, claimed_until: until }));
    });
  }

  settle(id: string, claimant: string, outcome: WebhookOutcome): Promise<boolean> {
    return this.turns.run('', async () => {
      const now = Date.now();
      const changes =
        outcome.state === 'pending'
          ? { state: outcome.state, next_try_at: now + outcome.retryInMs, last_error: outcome.error }
          : {
              state: outcome.state,
              finished_at: now,
              ...(outcome.state === 'given_up' ? { last_error: outcome.error } : {}),
            };
      const changed = await this.db.update(
        { _id: id, claimed_by: claimant },
        { $set: { ...changes, claimed_by: null, claimed_until: null }, $inc: { attempts: 1 } },
        {},
      );
      return changed > 0;
    });
  }

  async release(id: string, claimant: string): Promise<void> {
    await this.turns.run('', () =>
      this.db.update({ _id: id, claimed_by: claimant }, { $set: { claimed_by: null, claimed_until: null } }, {}),
    );
  }

  async nextDueInMs(): Promise<number | null> {
    // Only the two times: a backlog's bodies are not copied for each look.
    const pending = await this.db.find({ state: 'pending' }).project({ next_try_at: 1, claimed_until: 1 });
    if (!pending.length) return null;
    const at = Math.min(...pending.map((d) => Math.max(d.next_try_at, d.claimed_until ?? 0)));
    return Math.max(0, at - Date.now());
  }

  countPending(): Promise<number> {
    return this.db.count({ state: 'pending' });
  }

  async prune(options: { olderThanMs: number; keep: number }): Promise<number> {
    const removed = await this.turns.run('', async () => {
      const finished = await this.db.find({ state: { $ne: 'pending' } }).sort({ finished_at: -1, _id: 1 });
      const before = Date.now() - options.olderThanMs;
      const gone = finished
        .filter((doc, index) => index >= options.keep || doc.finished_at! < before)
        .map((doc) => doc._id);
      return gone.length ? this.db.remove({ _id: { $in: gone } }, { multi: true }) : 0;
    });
    // The file keeps every version of a document until compacted: pruning gives the space back.
    if (removed) await (this.db as unknown as { compactDatafileAsync(): Promise<void> }).compactDatafileAsync();
    return removed;
  }
}

function fromDocument(doc: WebhookDocument): WebhookDelivery {
  return {
    id: doc._id,
    session: doc.session,
    run: doc.run,
    url: doc.url,
    body: doc.body,
    state: doc.state,
    attempts: doc.attempts,
    created_at: new Date(doc.created_at).toISOString(),
    next_try_at: new Date(doc.next_try_at).toISOString(),
    last_error: doc.last_error,
    finished_at: doc.finished_at === null ? null : new Date(doc.finished_at).toISOString(),
  };
}
