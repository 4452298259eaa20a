#!/usr/bin/env node
import sade from 'sade';
import { readServerEnvironment } from '../servers/common/config.js';
import { createLogger } from '../servers/common/logger.js';
import type { RunningServer } from '../servers/common/server.js';
import { startRegistry } from '../servers/registry/server.js';
import { startRuntime } from '../servers/runtime/server.js';

type Which = 'both' | 'runtime' | 'registry';

/** Starts the servers on the embedded store (or PostgreSQL) and keeps them up until SIGINT or SIGTERM. */
async function serve(which: Which): Promise<void> {
  const env = readServerEnvironment();
  const started: RunningServer[] = [];
  const common = { dataDir: env.dataDir, databaseUrl: env.databaseUrl, token: env.token, allowedOrigins: env.allowedOrigins };
  const logger = createLogger('aof');
  try {
    if (which !== 'runtime') {
      started.push(await startRegistry({ ...common, url: env.registryUrl, agentsDir: env.agentsDir, logger: createLogger('registry') }));
    }
    if (which !== 'registry') {
      started.push(await startRuntime({ ...common, url: env.runtimeUrl, registryUrl: env.registryUrl, logger: createLogger('runtime') }));
    }
  } catch (error) {
    // Whatever did start goes down cleanly (its data dir unlocked) before the error is reported.
    await Promise.all(started.map((server) => server.close().catch(() => undefined)));
    throw error;
  }
  // Serving, a rejected promise nobody awaited is a bug of ours, never the agents' or the users':
  // it is logged, and the servers keep answering. (Exceptions still end the process: its state may be
  // broken; the store and the agents survive that, and the next start picks them up.)
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection (the servers keep running)', reason));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: shutting down (running agents keep going and are picked up at the next start)\n`);
    void Promise.all(started.map((server) => server.close())).then(() => process.exit(0), (error) => {
      logger.error('could not shut down cleanly', error);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

const program = sade('aof').version('0.1.0')
  .describe('Runs the aof servers on the embedded store (data in AGENT_ORCHESTRATOR_DATA_DIR, default ~/.agent-orchestrator).');

program.command('up', 'Start the Agent Runtime and the Agent Registry', { default: true })
  .action(() => serve('both'));
program.command('runtime', 'Start only the Agent Runtime (sessions)')
  .action(() => serve('runtime'));
program.command('registry', 'Start only the Agent Registry (blueprints)')
  .action(() => serve('registry'));

const parsed = program.parse(process.argv, { lazy: true });
if (parsed) {
  Promise.resolve(parsed.handler(...parsed.args)).catch((error: Error) => {
    process.stderr.write(`aof: ${error.message}\n`);
    process.exit(1);
  });
}
