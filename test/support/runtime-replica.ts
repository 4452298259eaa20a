// One runtime process of several on one database, for the replica tests and bench/replicas.ts: the
// runtime's own server (startRuntime) with executor `none`, so the only writer is
// `POST /sessions/{name}/events`. Reads AOF_REPLICA_DATA_DIR and, optional, AOF_REPLICA_DATABASE_URL
// (else the embedded store) and AOF_REPLICA_WEBHOOK_URL; prints `listening <url>` on stdout once it answers; SIGTERM closes it.
import { createLogger } from '../../servers/common/logger.js';
import { startRuntime } from '../../servers/runtime/server.js';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const runtime = await startRuntime({
  url: new URL('http://127.0.0.1:0'),
  dataDir: env('AOF_REPLICA_DATA_DIR'),
  databaseUrl: process.env.AOF_REPLICA_DATABASE_URL || undefined,
  // No blueprints: sessions are made without an agent.
  registryUrl: new URL('http://127.0.0.1:9'),
  blueprints: { find: async () => null },
  executor: 'none',
  logger: createLogger('runtime', { quiet: true }),
  ...(process.env.AOF_REPLICA_WEBHOOK_URL ? { webhooks: { url: process.env.AOF_REPLICA_WEBHOOK_URL } } : {}),
});
process.stdout.write(`listening ${runtime.url}\n`);
process.once('SIGTERM', () => void runtime.close().then(() => process.exit(0), () => process.exit(1)));
