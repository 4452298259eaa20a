import type { Queries } from '../../common/storage/postgres.js';
import type { Approval, ApprovalOutcome, ApprovalStore } from './interfaces.js';

const COLUMNS =
  'id, session, run, tool, input, tool_use_id, state, asked_at, expires_at, answered_at, answered_by, answerer, message';

/**
 * Approval requests in `aof_approvals` (see postgres-schema.ts), one row each, read by every runtime
 * process on the database. The database decides the races: an answer is an UPDATE of a row that is
 * still pending, so of two answers at once (from any processes) one changes the row and the other
 * finds it answered; a unique index keeps one request per `tool_use_id` of a run.
 */
/** A row as the contract has it: `answerer` only once someone answered (as the embedded store keeps it). */
function approvalOf(row: Approval): Approval {
  if (row.answerer !== null && row.answerer !== undefined) return row;
  const { answerer, ...rest } = row;
  return rest;
}

export class PostgresApprovalStore implements ApprovalStore {
  constructor(private readonly db: Queries) {}

  async insert(approval: Approval): Promise<Approval> {
    const { rows } = await this.db.query<Approval>(
      `INSERT INTO aof_approvals (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (session, run, tool_use_id) WHERE tool_use_id IS NOT NULL DO NOTHING RETURNING ${COLUMNS}`,
      [
        approval.id,
        approval.session,
        approval.run,
        approval.tool,
        JSON.stringify(approval.input),
        approval.tool_use_id,
        approval.state,
        approval.asked_at,
        approval.expires_at,
        approval.answered_at,
        approval.answered_by,
        approval.answerer ? JSON.stringify(approval.answerer) : null,
        approval.message,
      ],
    );
    if (rows[0]) return approvalOf(rows[0]);
    const [existing] = await this.find({
      session: approval.session,
      run: approval.run,
      tool_use_id: approval.tool_use_id!,
    });
    return existing!;
  }

  async get(id: string): Promise<Approval | null> {
    const { rows } = await this.db.query<Approval>(`SELECT ${COLUMNS} FROM aof_approvals WHERE id = $1`, [id]);
    return rows[0] ? approvalOf(rows[0]) : null;
  }

  async find(query: {
    session?: string;
    state?: Approval['state'];
    run?: number;
    tool_use_id?: string;
  }): Promise<Approval[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    for (const [column, value] of Object.entries(query)) {
      if (value === undefined) continue;
      values.push(value);
      where.push(`${column} = $${values.length}`);
    }
    const { rows } = await this.db.query<Approval>(
      `SELECT ${COLUMNS} FROM aof_approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY asked_at, id`,
      values,
    );
    return rows.map(approvalOf);
  }

  async settle(id: string, outcome: ApprovalOutcome): Promise<Approval | null> {
    const { rows } = await this.db.query<Approval>(
      `UPDATE aof_approvals SET state = $2, answered_at = $3, answered_by = $4, message = $5, answerer = $6
       WHERE id = $1 AND state = 'pending' RETURNING ${COLUMNS}`,
      [
        id,
        outcome.state,
        outcome.answered_at,
        outcome.answered_by,
        outcome.message,
        outcome.answerer ? JSON.stringify(outcome.answerer) : null,
      ],
    );
    return rows[0] ? approvalOf(rows[0]) : null;
  }

  async removeSession(session: string): Promise<void> {
    await this.db.query('DELETE FROM aof_approvals WHERE session = $1', [session]);
  }
}
