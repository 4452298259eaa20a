// The PostgreSQL backend against the store conformance suite (a fresh database per test), and what
// is its own: several processes on one database.
import { openPostgresStore } from '../../servers/runtime/store/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';
import { storeConformance } from './store-conformance.js';

storeConformance('PostgreSQL', {
  async fresh() {
    const url = await freshDatabase();
    return { open: () => openPostgresStore(url), dispose: async () => undefined };
  },
});
