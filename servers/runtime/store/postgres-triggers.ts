import type { Queries } from '../../common/storage/postgres.js';
import type { DeliveryOutcome, StoredDelivery, StoredTrigger, TriggerStore } from './trigger-store.js';

interface TriggerRow extends Omit<StoredTrigger, 'created_at'> {
  created_at: Date;
}
interface DeliveryRow extends Omit<StoredDelivery, 'received_at'> {
  received_at: Date;
}

const triggerOf = (row: TriggerRow): StoredTrigger => ({ ...row, created_at: row.created_at.getTime() });
const deliveryOf = (row: DeliveryRow): StoredDelivery => ({ ...row, received_at: row.received_at.getTime() });

/** Triggers in `aof_triggers`, deliveries in `aof_trigger_deliveries` (keyed by trigger and delivery id). */
export class PostgresTriggerStore implements TriggerStore {
  constructor(private readonly db: Queries) {}

  async insert(t: StoredTrigger): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO aof_triggers (name, spec, created_at, deliveries) VALUES ($1, $2, $3, 0) ON CONFLICT (name) DO NOTHING`,
      [t.name, JSON.stringify(t.spec), new Date(t.created_at)],
    );
    return (rowCount ?? 0) > 0;
  }

  async get(name: string): Promise<StoredTrigger | null> {
    const { rows } = await this.db.query<TriggerRow>(
      'SELECT name, spec, created_at, deliveries FROM aof_triggers WHERE name = $1',
      [name],
    );
    return rows[0] ? triggerOf(rows[0]) : null;
  }

  async list(): Promise<StoredTrigger[]> {
    const { rows } = await this.db.query<TriggerRow>(
      'SELECT name, spec, created_at, deliveries FROM aof_triggers ORDER BY name',
    );
    return rows.map(triggerOf);
  }

  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM aof_triggers WHERE name = $1', [name]);
    return (rowCount ?? 0) > 0;
  }

  async receive(d: StoredDelivery): Promise<StoredDelivery | null> {
    const { rowCount } = await this.db.query(
      `WITH added AS (
         INSERT INTO aof_trigger_deliveries (trigger, id, received_at, outcome, session, reason)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (trigger, id) DO NOTHING RETURNING trigger
       ) UPDATE aof_triggers SET deliveries = deliveries + 1 WHERE name IN (SELECT trigger FROM added)`,
      [d.trigger, d.id, new Date(d.received_at), d.outcome, d.session, d.reason],
    );
    if ((rowCount ?? 0) > 0) return null;
    const { rows } = await this.db.query<DeliveryRow>(
      'SELECT trigger, id, received_at, outcome, session, reason FROM aof_trigger_deliveries WHERE trigger = $1 AND id = $2',
      [d.trigger, d.id],
    );
    return rows[0] ? deliveryOf(rows[0]) : null;
  }

  async settle(
    trigger: string,
    id: string,
    outcome: DeliveryOutcome,
    session: string | null,
    reason: string | null,
  ): Promise<void> {
    await this.db.query(
      'UPDATE aof_trigger_deliveries SET outcome = $3, session = $4, reason = $5 WHERE trigger = $1 AND id = $2',
      [trigger, id, outcome, session, reason],
    );
  }

  async deliveries(trigger: string, limit: number): Promise<StoredDelivery[]> {
    const { rows } = await this.db.query<DeliveryRow>(
      `SELECT trigger, id, received_at, outcome, session, reason FROM aof_trigger_deliveries
       WHERE trigger = $1 ORDER BY received_at DESC, id DESC LIMIT $2`,
      [trigger, limit],
    );
    return rows.map(deliveryOf);
  }
}
