// Mocha global fixtures for a parallel run (scripts/test.sh passes `--require` this file): one
// PostgreSQL server for all the workers, owned by the main mocha process. Its port goes to the workers
// in AOF_TEST_POSTGRES_PORT (they are started after the global set-up, with its environment); each
// test file still takes fresh databases on it (test/support/postgres.ts). The server starts in the
// background: files that need no database do not wait for it, the others wait until it accepts.
import { freePort, type Server, startServer, stopServer } from './postgres.js';

let starting: Promise<Server> | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  const port = await freePort();
  process.env.AOF_TEST_POSTGRES_PORT = String(port);
  starting = startServer(port);
  // Seen by the teardown; a failure to start shows in the first test that asks for a database.
  starting.catch((error: Error) => process.stderr.write(`the tests' PostgreSQL did not start: ${error.message}\n`));
}

export async function mochaGlobalTeardown(): Promise<void> {
  const started = await starting?.catch(() => undefined);
  if (started) await stopServer(started);
}
