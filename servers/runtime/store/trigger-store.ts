import type { components } from '../../../sdk/generated/runtime.js';

export type TriggerCreate = components['schemas']['TriggerCreate'];
export type DeliveryOutcome = components['schemas']['TriggerDelivery']['outcome'];

/** A trigger as kept: its spec (the secret with it: it is needed to check signatures, and never shown). */
export interface StoredTrigger {
  name: string;
  spec: Omit<TriggerCreate, 'name'>;
  created_at: number;
  deliveries: number;
}

export interface StoredDelivery {
  /** The sender's delivery id (or the body's SHA-256). */
  id: string;
  trigger: string;
  received_at: number;
  outcome: DeliveryOutcome;
  session: string | null;
  reason: string | null;
}

/** Triggers and their deliveries, shared by every runtime process on the store. */
export interface TriggerStore {
  /** Adds it; resolves false when its name is taken. */
  insert(trigger: StoredTrigger): Promise<boolean>;
  get(name: string): Promise<StoredTrigger | null>;
  list(): Promise<StoredTrigger[]>;
  /** Deletes it and its deliveries; resolves false when there was none. */
  remove(name: string): Promise<boolean>;
  /**
   * Records a delivery as `received` unless one with its id is kept for the trigger (also under a
   * race): resolves with null when it added it, else with the one kept.
   */
  receive(delivery: StoredDelivery): Promise<StoredDelivery | null>;
  /** Records what a received delivery did. */
  settle(
    trigger: string,
    id: string,
    outcome: DeliveryOutcome,
    session: string | null,
    reason: string | null,
  ): Promise<void>;
  /** The trigger's deliveries, newest first. */
  deliveries(trigger: string, limit: number): Promise<StoredDelivery[]>;
}
