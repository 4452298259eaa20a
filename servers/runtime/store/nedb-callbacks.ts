import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/storage/data-dir.js';
import { isFinal, lastRun } from '../session-store.js';
import type { Callback, CallbackSettlement, CallbackStore, SessionStore } from './interfaces.js';

type CallbackDocument = Callback & { _id: string };

/**
 * Callbacks in one nedb file of the data dir (`callbacks.db`), one document each keyed by its id (the
 * file and its documents are those of earlier versions). One process uses a data dir and nedb runs
 * one operation at a time, so the unique `_id` and a conditional update decide the races.
 */
export class NedbCallbackStore implements CallbackStore {
  private constructor(
    private readonly db: Datastore<CallbackDocument>,
    private readonly sessions: SessionStore,
  ) {}

  static async open(dataDir: string, sessions: SessionStore): Promise<NedbCallbackStore> {
    return new NedbCallbackStore(
      await openCollection<CallbackDocument>(dataDir, 'callbacks.db', [
        { fieldName: 'parent' },
        { fieldName: 'status' },
      ]),
      sessions,
    );
  }

  async insert(callback: Callback): Promise<boolean> {
    try {
      await this.db.insert({ ...callback, _id: callback.id });
      return true;
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') return false;
      throw error;
    }
  }

  async find(parent: string, status?: Callback['status']): Promise<Callback[]> {
    const docs = await this.db.find(status ? { parent, status } : { parent }).sort({ created_at: 1, _id: 1 });
    return docs.map(({ _id, ...callback }) => callback);
  }

  async pendingParents(): Promise<string[]> {
    const docs = await this.db.find({ status: 'pending' }).project({ parent: 1 });
    return [...new Set(docs.map((doc) => doc.parent))];
  }

  countPending(): Promise<number> {
    return this.db.count({ status: 'pending' });
  }

  async deliverableParents(): Promise<string[]> {
    const ready: string[] = [];
    for (const name of await this.pendingParents()) {
      const parent = await this.sessions.find(name);
      if (parent && !isFinal(lastRun(parent).state)) continue;
      const active = await this.sessions.page(
        { parent: name, states: ['queued', 'running'] },
        null,
        Number.MAX_SAFE_INTEGER,
      );
      if (!active.some((child) => child.callback)) ready.push(name);
    }
    return ready;
  }

  async settle(ids: string[], settlement: CallbackSettlement): Promise<string[]> {
    const changed: string[] = [];
    for (const id of ids) {
      if (await this.db.update({ _id: id, status: 'pending' }, { $set: settlement }, {})) changed.push(id);
    }
    return changed;
  }
}
