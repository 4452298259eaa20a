import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/storage/data-dir.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Approval, ApprovalOutcome, ApprovalStore } from './interfaces.js';

/**
 * `input` is stored as JSON text: a tool's input takes any keys, and nedb refuses field names that
 * start with `$` or contain `.`.
 */
type ApprovalDocument = Omit<Approval, 'input'> & { _id: string; input: string };

/**
 * Approval requests in one nedb file of the data dir (`approvals.db`), keyed by id. One process uses
 * a data dir, and nedb runs one operation at a time, so a conditional update is atomic; the asks of
 * one session take turns here, so a `tool_use_id` is never added twice.
 */
export class NedbApprovalStore implements ApprovalStore {
  private readonly asks = new KeyedLock();

  private constructor(private readonly db: Datastore<ApprovalDocument>) {}

  static async open(dataDir: string): Promise<NedbApprovalStore> {
    return new NedbApprovalStore(
      await openCollection<ApprovalDocument>(dataDir, 'approvals.db', [
        { fieldName: 'session' },
        { fieldName: 'state' },
      ]),
    );
  }

  insert(approval: Approval): Promise<Approval> {
    return this.asks.run(approval.session, async () => {
      if (approval.tool_use_id) {
        const [existing] = await this.find({
          session: approval.session,
          run: approval.run,
          tool_use_id: approval.tool_use_id,
        });
        if (existing) return existing;
      }
      await this.db.insert(toDocument(approval));
      return approval;
    });
  }

  async get(id: string): Promise<Approval | null> {
    const doc = await this.db.findOne({ _id: id });
    return doc ? fromDocument(doc) : null;
  }

  async find(query: {
    session?: string;
    state?: Approval['state'];
    run?: number;
    tool_use_id?: string;
  }): Promise<Approval[]> {
    const filter = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
    const docs = await this.db.find(filter).sort({ asked_at: 1, _id: 1 });
    return docs.map(fromDocument);
  }

  async settle(id: string, outcome: ApprovalOutcome): Promise<Approval | null> {
    const changed = await this.db.update({ _id: id, state: 'pending' }, { $set: outcome }, {});
    return changed ? this.get(id) : null;
  }

  async removeSession(session: string): Promise<void> {
    await this.db.remove({ session }, { multi: true });
  }
}

function toDocument(approval: Approval): ApprovalDocument {
  return { ...approval, _id: approval.id, input: JSON.stringify(approval.input) };
}

function fromDocument({ _id, input, ...rest }: ApprovalDocument): Approval {
  return { ...rest, input: JSON.parse(input) as Approval['input'] };
}
