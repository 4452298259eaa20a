import type { Migration } from '../../common/postgres.js';
import { ACCESS_MIGRATIONS } from './postgres-access-schema.js';

/**
 * The runtime's tables. A session is one row: the fields lists are filtered and ordered by, as
 * columns (text in the "C" collation, so PostgreSQL orders names and ISO times exactly as
 * `compareListOrder` does), and the whole stored session as JSON. Events are rows keyed by session
 * and `seq`; `aof_event_heads` holds each session's last `seq`, and its row lock is what serializes
 * appends to one session, in every process. `aof_conversations` holds each session's saved Claude Code
 * conversation (gzip'd bytes). `aof_approvals` holds approval requests, one row each, answered by a
 * conditional UPDATE (the one of a pending row). `aof_callbacks` holds the callbacks of children to
 * their parents, settled the same way; the index on a session's parent (in its JSON) finds a parent's
 * children without reading every session. `aof_webhooks` is the outbox of webhook notices, one
 * row per run end and URL, claimed by one process at a time (`claimed_by` until `claimed_until`).
 * The claim columns of `aof_sessions` (migration 7) copy from a waiting or running session's last run
 * what a claim selects by, so a claim reads a few indexed rows, not the queue's documents.
 *
 * Append-only: a released migration is never edited, a change is a new version.
 */
export const RUNTIME_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions and events',
    sql: `
      CREATE TABLE aof_sessions (
        name text COLLATE "C" PRIMARY KEY,
        updated_at text COLLATE "C" NOT NULL,
        state text NOT NULL,
        agent text,
        project_dir text NOT NULL,
        doc json NOT NULL
      );
      CREATE INDEX aof_sessions_list ON aof_sessions (updated_at DESC, name);
      CREATE INDEX aof_sessions_state ON aof_sessions (state);
      CREATE TABLE aof_event_heads (
        session text COLLATE "C" PRIMARY KEY,
        last_seq bigint NOT NULL CHECK (last_seq > 0)
      );
      CREATE TABLE aof_events (
        session text COLLATE "C" NOT NULL,
        seq bigint NOT NULL CHECK (seq > 0),
        run integer NOT NULL,
        type text NOT NULL,
        at text NOT NULL,
        data json NOT NULL,
        PRIMARY KEY (session, seq)
      );
      CREATE INDEX aof_events_run ON aof_events (session, run);
    `,
  },
  {
    version: 3,
    name: 'conversations',
    sql: `
      CREATE TABLE aof_conversations (
        session text COLLATE "C" PRIMARY KEY,
        data bytea NOT NULL,
        saved_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'approval requests',
    sql: `
      CREATE TABLE aof_approvals (
        id text COLLATE "C" PRIMARY KEY,
        session text COLLATE "C" NOT NULL,
        run integer NOT NULL,
        tool text NOT NULL,
        input json NOT NULL,
        tool_use_id text,
        state text NOT NULL,
        asked_at text COLLATE "C" NOT NULL,
        expires_at text NOT NULL,
        answered_at text,
        answered_by text,
        message text
      );
      CREATE INDEX aof_approvals_session ON aof_approvals (session, state);
      CREATE INDEX aof_approvals_state ON aof_approvals (state);
      CREATE UNIQUE INDEX aof_approvals_tool_use ON aof_approvals (session, run, tool_use_id) WHERE tool_use_id IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'callbacks',
    sql: `
      CREATE TABLE aof_callbacks (
        id text COLLATE "C" PRIMARY KEY,
        parent text COLLATE "C" NOT NULL,
        child text COLLATE "C" NOT NULL,
        run integer NOT NULL,
        state text NOT NULL,
        result text,
        error text,
        status text NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        settled_at text,
        parent_run integer,
        reason text
      );
      CREATE INDEX aof_callbacks_parent ON aof_callbacks (parent, created_at, id);
      CREATE INDEX aof_callbacks_pending ON aof_callbacks (parent) WHERE status = 'pending';
      CREATE INDEX aof_sessions_parent ON aof_sessions ((doc->>'parent')) WHERE doc->>'parent' IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'webhook outbox',
    sql: `
      CREATE TABLE aof_webhooks (
        id text COLLATE "C" PRIMARY KEY,
        session text COLLATE "C" NOT NULL,
        run integer NOT NULL,
        url text NOT NULL,
        body text NOT NULL,
        state text NOT NULL,
        attempts integer NOT NULL,
        created_at timestamptz NOT NULL,
        next_try_at timestamptz NOT NULL,
        last_error text,
        finished_at timestamptz,
        claimed_by text,
        claimed_until timestamptz
      );
      CREATE INDEX aof_webhooks_due ON aof_webhooks (next_try_at) WHERE state = 'pending';
      CREATE INDEX aof_webhooks_finished ON aof_webhooks (finished_at DESC) WHERE state <> 'pending';
      CREATE INDEX aof_webhooks_session ON aof_webhooks (session);
    `,
  },
  {
    version: 7,
    name: 'claim columns',
    sql: `
      ALTER TABLE aof_sessions
        ADD COLUMN queued_at text COLLATE "C",
        ADD COLUMN lease_expires_at text COLLATE "C",
        ADD COLUMN stop_requested boolean NOT NULL DEFAULT false,
        ADD COLUMN runner_tags text[] NOT NULL DEFAULT '{}';
      UPDATE aof_sessions SET
        queued_at = doc->'runs'->-1->>'queued_at',
        lease_expires_at = doc->'runs'->-1->'lease'->>'expires_at',
        stop_requested = COALESCE((doc->'runs'->-1->>'stop_requested')::boolean, false),
        runner_tags = COALESCE(ARRAY(SELECT json_array_elements_text(doc->'runner_tags')), '{}')
      WHERE state IN ('queued', 'running');
      CREATE INDEX aof_sessions_queue ON aof_sessions (queued_at, name) WHERE state = 'queued';
      CREATE INDEX aof_sessions_leased ON aof_sessions (lease_expires_at) WHERE state = 'queued' AND lease_expires_at IS NOT NULL;
    `,
  },
  {
    version: 8,
    name: 'tokens',
    sql: `
      CREATE TABLE aof_tokens (
        name text COLLATE "C" PRIMARY KEY,
        role text NOT NULL,
        hash text NOT NULL UNIQUE,
        created_at text NOT NULL
      );
    `,
  },
  ...ACCESS_MIGRATIONS,
];
