import type { Migration } from '../../common/storage/postgres.js';
import { ACCESS_MIGRATIONS } from './postgres-access-schema.js';

/**
 * The runtime's tables. A session is one row: the fields lists are filtered and ordered by, as
 * columns (text in the "C" collation, so PostgreSQL orders names and ISO times exactly as
 * `compareListOrder` does), and the session's facts as JSON; its runs are rows of `aof_runs`. Events are rows keyed by session
 * and `seq`; `aof_event_heads` holds each session's last `seq`, and its row lock is what serializes
 * appends to one session, in every process. `aof_conversations` holds each session's saved Claude Code
 * conversation (gzip'd bytes). `aof_approvals` holds approval requests, one row each, answered by a
 * conditional UPDATE (the one of a pending row). `aof_callbacks` holds the callbacks of children to
 * their parents, settled the same way; the index on a session's parent (in its JSON) finds a parent's
 * children without reading every session. `aof_webhooks` is the outbox of webhook notices, one
 * row per run end and URL, claimed by one process at a time (`claimed_by` until `claimed_until`).
 * `aof_runs` (migration 9) holds the runs, one row each, keyed by session and number: what a claim
 * selects by and writes (state, queue time, the tags key, the lease) as columns, the rest of the run
 * as JSON; the queue is its partial index of queued runs by tags key and claim order. Migration 9
 * moved the runs out of the sessions' documents (where earlier versions kept them, with copies of the
 * claim's fields as columns of `aof_sessions`, migration 7, now dropped).
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
  {
    version: 9,
    name: 'run records',
    sql: `
      CREATE TABLE aof_runs (
        session text COLLATE "C" NOT NULL,
        number integer NOT NULL,
        state text NOT NULL,
        queued_at text COLLATE "C" NOT NULL,
        tags_key text COLLATE "C" NOT NULL DEFAULT '',
        stop_requested boolean NOT NULL DEFAULT false,
        attempt integer NOT NULL DEFAULT 0,
        lease_runner text,
        lease_host text,
        lease_expires_at timestamptz,
        reported integer NOT NULL DEFAULT 0,
        runner text,
        credential_hash text,
        doc json NOT NULL,
        PRIMARY KEY (session, number)
      );
      INSERT INTO aof_runs (session, number, state, queued_at, tags_key, stop_requested, attempt, lease_runner,
                            lease_host, lease_expires_at, reported, runner, credential_hash, doc)
      SELECT s.name, (r.run->>'number')::int, r.run->>'state', r.run->>'queued_at',
             array_to_string(ARRAY(SELECT DISTINCT t COLLATE "C" FROM json_array_elements_text(COALESCE(s.doc->'runner_tags', '[]'::json)) t ORDER BY 1), E'\n'),
             COALESCE((r.run->>'stop_requested')::boolean, false),
             COALESCE((r.run->'lease'->>'attempt')::int, 0),
             r.run->'lease'->>'runner',
             r.run->'lease'->>'host',
             NULLIF(r.run->'lease'->>'expires_at', '')::timestamptz,
             COALESCE((r.run->'lease'->>'reported')::int, 0),
             r.run->>'runner',
             r.run->>'credential_hash',
             (r.run::jsonb - 'number' - 'state' - 'queued_at' - 'stop_requested' - 'lease' - 'runner' - 'credential_hash')::json
      FROM aof_sessions s, json_array_elements(s.doc->'runs') AS r(run)
      WHERE json_typeof(s.doc->'runs') = 'array';
      UPDATE aof_sessions SET doc = (doc::jsonb - 'runs')::json WHERE json_typeof(doc->'runs') = 'array';
      ALTER TABLE aof_sessions DROP COLUMN queued_at, DROP COLUMN lease_expires_at, DROP COLUMN stop_requested,
        DROP COLUMN runner_tags;
      CREATE INDEX aof_runs_queue ON aof_runs (tags_key, queued_at, session) WHERE state = 'queued';
      CREATE INDEX aof_runs_running ON aof_runs (session) WHERE state = 'running';
      CREATE INDEX aof_runs_leased ON aof_runs (lease_expires_at) WHERE state = 'queued' AND lease_expires_at IS NOT NULL;
    `,
  },
  ...ACCESS_MIGRATIONS,
];
