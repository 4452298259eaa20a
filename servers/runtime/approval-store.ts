import type Datastore from 'nedb-promises';
import type { components } from '../../sdk/generated/runtime.js';
import { openCollection } from '../common/data-dir.js';

export type Approval = components['schemas']['Approval'];
export type ApprovalState = components['schemas']['ApprovalState'];

/**
 * `input` is stored as JSON text: a tool's input takes any keys, and nedb refuses field names that
 * start with `$` or contain `.`.
 */
type ApprovalDocument = Omit<Approval, 'input'> & { _id: string; input: string };

/** Approval requests in one nedb file owned by the runtime, keyed by id. */
export class ApprovalStore {
  private constructor(private readonly db: Datastore<ApprovalDocument>) {}

  static async open(dataDir: string): Promise<ApprovalStore> {
    return new ApprovalStore(await openCollection<ApprovalDocument>(dataDir, 'approvals.db', [
      { fieldName: 'session' },
      { fieldName: 'state' },
    ]));
  }

  async insert(approval: Approval): Promise<void> {
    await this.db.insert(toDocument(approval));
  }

  async replace(approval: Approval): Promise<void> {
    await this.db.update({ _id: approval.id }, toDocument(approval), {});
  }

  async get(id: string): Promise<Approval | null> {
    const doc = await this.db.findOne({ _id: id });
    return doc ? fromDocument(doc) : null;
  }

  /** Oldest first. */
  async find(query: { session?: string; state?: ApprovalState; run?: number; tool_use_id?: string }): Promise<Approval[]> {
    const filter = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
    const docs = await this.db.find(filter).sort({ asked_at: 1, _id: 1 });
    return docs.map(fromDocument);
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
