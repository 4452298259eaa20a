import type { Queries } from '../../common/storage/postgres.js';
import type { StoredToken, TokenStore } from './interfaces.js';

const COLUMNS = 'name, role, hash, created_at';

/** People's named tokens in `aof_tokens` (see postgres-schema.ts), read by every runtime process on the database. */
export class PostgresTokenStore implements TokenStore {
  constructor(private readonly db: Queries) {}

  async list(): Promise<StoredToken[]> {
    return (await this.db.query<StoredToken>(`SELECT ${COLUMNS} FROM aof_tokens ORDER BY name`)).rows;
  }

  async findByHash(hash: string): Promise<StoredToken | null> {
    const { rows } = await this.db.query<StoredToken>(`SELECT ${COLUMNS} FROM aof_tokens WHERE hash = $1`, [hash]);
    return rows[0] ?? null;
  }

  async insert(token: StoredToken): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO aof_tokens (${COLUMNS}) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
      [token.name, token.role, token.hash, token.created_at],
    );
    return rowCount === 1;
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM aof_tokens WHERE name = $1', [name])).rowCount === 1;
  }
}
