import type { Logger } from '../../common/logger.js';
import { KeyedLock } from '../keyed-lock.js';
import type { RuntimeStore } from './interfaces.js';
import { ConversationFiles } from './embedded-conversations.js';
import { EventFiles } from './event-files.js';
import { NedbApprovalStore } from './nedb-approvals.js';
import { NedbCallbackStore } from './nedb-callbacks.js';
import { migrateSingleEventsFile } from './nedb-migration.js';
import { NedbSessionStore } from './nedb-sessions.js';
import { NedbWebhookStore } from './nedb-webhooks.js';
import { NedbTokenStore } from './nedb-tokens.js';
import { NedbAuditStore } from '../../common/audit/nedb-audit.js';

export interface EmbeddedStoreOptions {
  /** Sessions whose event files stay open at once (default 64). */
  maxOpenEventFiles?: number | undefined;
  logger?: Logger | undefined;
}

/**
 * The embedded backend in a data dir: `sessions.db` (nedb, the sessions' facts), `runs.db` (nedb, one
 * record per run; runs kept in `sessions.db` by earlier versions are moved out at start-up), `events/` (one append-only file per
 * session), `conversations/` (one gzip'd conversation per session), `approvals.db` (nedb, the
 * approval requests), `callbacks.db` (nedb, children's callbacks to their parents) and `webhooks.db`
 * (nedb, the outbox of webhook notices). A data dir of an earlier version (a single `events.db`) is
 * migrated first, once. One process uses a data dir (its lock file), so `exclusive` is a lock in this process, and no
 * other process needs notices.
 */
export async function openEmbeddedStore(dataDir: string, options: EmbeddedStoreOptions = {}): Promise<RuntimeStore> {
  const started = Date.now();
  const migrated = await migrateSingleEventsFile(dataDir);
  if (migrated)
    options.logger?.info(
      `moved ${migrated} events of ${dataDir}/events.db into one file per session in ${Date.now() - started} ms`,
    );
  const lock = new KeyedLock();
  const sessions = await NedbSessionStore.open(dataDir, lock);
  if (sessions.moved)
    options.logger?.info(`moved ${sessions.moved} runs of ${dataDir}/sessions.db into records of their own (runs.db)`);
  const events = await EventFiles.open(dataDir, { maxOpen: options.maxOpenEventFiles });
  const conversations = await ConversationFiles.open(dataDir);
  const approvals = await NedbApprovalStore.open(dataDir);
  const callbacks = await NedbCallbackStore.open(dataDir, sessions);
  const webhooks = await NedbWebhookStore.open(dataDir);
  const tokens = await NedbTokenStore.open(dataDir);
  const audit = await NedbAuditStore.open(dataDir);
  const clock = async () => Date.now();
  const tx = { sessions, events, conversations, approvals, webhooks, notify: async () => undefined, clock };
  return {
    sessions,
    events,
    conversations,
    approvals,
    callbacks,
    webhooks,
    tokens,
    audit,
    exclusive: (name, work) => lock.run(name, () => work(tx)),
    tryExclusive: async (name, work) =>
      lock.busy(name) ? { done: false } : lock.run(name, async () => ({ done: true, value: await work(tx) })),
    clock,
    close: async () => {
      await events.close();
      await sessions.close();
    },
  };
}
