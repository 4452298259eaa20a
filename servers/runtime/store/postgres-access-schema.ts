import type { Migration } from '../../common/storage/postgres.js';

/**
 * Who did what: the audit log (`aof_audit`, one row per write, newest first by `at` then `id`;
 * the principal as JSON and its kind and name as columns to filter by), and who answered an
 * approval request (`aof_approvals.answerer`, the person or agent as JSON). Kept apart from
 * postgres-schema.ts's list; its version leaves room below it.
 */
export const ACCESS_MIGRATIONS: readonly Migration[] = [
  {
    version: 12,
    name: 'audit log and who answered',
    sql: `
      CREATE TABLE aof_audit (
        id text COLLATE "C" PRIMARY KEY,
        at text COLLATE "C" NOT NULL,
        principal_kind text NOT NULL,
        principal_name text NOT NULL,
        principal json NOT NULL,
        operation text NOT NULL,
        action text NOT NULL,
        session text COLLATE "C",
        target text,
        outcome text NOT NULL,
        status integer NOT NULL
      );
      CREATE INDEX aof_audit_at ON aof_audit (at DESC, id DESC);
      CREATE INDEX aof_audit_session ON aof_audit (session, at DESC) WHERE session IS NOT NULL;
      CREATE INDEX aof_audit_principal ON aof_audit (principal_name, at DESC);
      ALTER TABLE aof_approvals ADD COLUMN answerer json;
    `,
  },
];
