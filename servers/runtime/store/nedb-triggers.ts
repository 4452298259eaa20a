import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/storage/data-dir.js';
import { KeyedLock } from '../keyed-lock.js';
import type { DeliveryOutcome, StoredDelivery, StoredTrigger, TriggerStore } from './trigger-store.js';

type TriggerDocument = StoredTrigger & { _id: string };
type DeliveryDocument = StoredDelivery & { _id: string };

const strip = <T extends { _id: string }>({ _id, ...rest }: T) => rest;
const key = (trigger: string, id: string) => `${trigger}\n${id}`;

/** Triggers (`triggers.db`) and their deliveries (`deliveries.db`) in nedb files of the data dir. */
export class NedbTriggerStore implements TriggerStore {
  private readonly turns = new KeyedLock();

  private constructor(
    private readonly triggers: Datastore<TriggerDocument>,
    private readonly deliveryDocs: Datastore<DeliveryDocument>,
  ) {}

  static async open(dataDir: string): Promise<NedbTriggerStore> {
    const triggers = await openCollection<TriggerDocument>(dataDir, 'triggers.db', []);
    const deliveries = await openCollection<DeliveryDocument>(dataDir, 'deliveries.db', [{ fieldName: 'trigger' }]);
    return new NedbTriggerStore(triggers, deliveries);
  }

  insert(trigger: StoredTrigger): Promise<boolean> {
    return this.turns.run('', async () => {
      if (await this.triggers.findOne({ _id: trigger.name })) return false;
      await this.triggers.insert({ ...trigger, _id: trigger.name });
      return true;
    });
  }

  async get(name: string): Promise<StoredTrigger | null> {
    const doc = await this.triggers.findOne({ _id: name });
    return doc ? strip(doc) : null;
  }

  async list(): Promise<StoredTrigger[]> {
    return (await this.triggers.find({}).sort({ _id: 1 })).map(strip);
  }

  remove(name: string): Promise<boolean> {
    return this.turns.run('', async () => {
      const removed = await this.triggers.remove({ _id: name }, {});
      await this.deliveryDocs.remove({ trigger: name }, { multi: true });
      return removed > 0;
    });
  }

  receive(delivery: StoredDelivery): Promise<StoredDelivery | null> {
    return this.turns.run('', async () => {
      const kept = await this.deliveryDocs.findOne({ _id: key(delivery.trigger, delivery.id) });
      if (kept) return strip(kept);
      await this.deliveryDocs.insert({ ...delivery, _id: key(delivery.trigger, delivery.id) });
      await this.triggers.update({ _id: delivery.trigger }, { $inc: { deliveries: 1 } });
      return null;
    });
  }

  async settle(
    trigger: string,
    id: string,
    outcome: DeliveryOutcome,
    session: string | null,
    reason: string | null,
  ): Promise<void> {
    await this.deliveryDocs.update({ _id: key(trigger, id) }, { $set: { outcome, session, reason } });
  }

  async deliveries(trigger: string, limit: number): Promise<StoredDelivery[]> {
    return (await this.deliveryDocs.find({ trigger }).sort({ received_at: -1 }).limit(limit)).map(strip);
  }
}
