#!/usr/bin/env node
import sade from 'sade';
import { parseUrl, readServerEnvironment, secretsOf, type ServerEnvironment } from '../servers/common/config.js';
import { createLogger, type Logger } from '../servers/common/logger.js';
import { VERSION } from '../servers/common/version.js';
import type { RunningServer } from '../servers/common/http/server.js';
import { asksForHelp, withTrimmedLines } from './lib/help-text.js';
import type { RunningRuntime } from '../servers/runtime/server.js';
import { ensureTokenFile } from '../servers/common/storage/token-file.js';
import { tokenFromFile } from '../sdk/token-file.js';

// Each command imports what it uses when it runs (a server, the runner, the SDK): loading all of it
// costs every start, a token command's or a runner's, several tenths of a second of CPU.

/** The SDK client of `aof token` and `aof dashboard`: light fetch classes over node:http, as the ao-* commands. */
async function orchestrator() {
  (await import('./lib/fetch-classes.js')).installFetchClasses();
  const [{ Orchestrator }, { nodeFetch }] = await Promise.all([
    import('../sdk/index.js'),
    import('../servers/common/node-fetch.js'),
  ]);
  return new Orchestrator({ parent: null, fetch: nodeFetch });
}

type Which = 'both' | 'runtime' | 'registry';

/** A logger in the form AGENT_ORCHESTRATOR_LOG_FORMAT asks for, that never writes a secret. */
const loggerFor = (env: ServerEnvironment, name: string): Logger =>
  createLogger(name, { format: env.logFormat, secrets: secretsOf(env) });

/** Starts the servers on the embedded store (or PostgreSQL) and keeps them up until SIGINT or SIGTERM. */
async function serve(which: Which): Promise<void> {
  const env = readServerEnvironment();
  const started: RunningServer[] = [];
  let runtime: RunningRuntime | undefined;
  const logger = loggerFor(env, 'aof');
  const common = {
    dataDir: env.dataDir,
    databaseUrl: env.databaseUrl,
    token: env.token ?? (await dataDirToken(env.dataDir, logger)),
    allowedOrigins: env.allowedOrigins,
    allowedHosts: env.allowedHosts,
  };
  try {
    // Each server is loaded only when it is started: one server alone loads only its own code.
    if (which !== 'runtime') {
      const { startRegistry } = await import('../servers/registry/server.js');
      started.push(
        await startRegistry({
          ...common,
          url: env.registryUrl,
          agentsDir: env.agentsDir,
          runtimeUrl: () => env.runtimeUrl.origin,
          logger: loggerFor(env, 'registry'),
        }),
      );
    }
    if (which !== 'registry') {
      const { startRuntime } = await import('../servers/runtime/server.js');
      runtime = await startRuntime({
        ...common,
        url: env.runtimeUrl,
        registryUrl: env.registryUrl,
        logger: loggerFor(env, 'runtime'),
        webhooks: { url: env.webhookUrl, secret: env.webhookSecret, allowedHosts: env.webhookAllowedHosts },
        executor: env.executor,
        leaseSeconds: env.leaseSeconds,
        ...(env.usageLimitMarginSeconds !== undefined
          ? { usageLimits: { marginMs: env.usageLimitMarginSeconds * 1000 } }
          : {}),
        github: { apiUrl: env.githubApiUrl, token: env.githubToken },
      });
      started.push(runtime);
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
    logger.info(`${signal}: shutting down (running agents keep going and are picked up at the next start)`);
    void Promise.all(started.map((server) => server.close())).then(
      () => process.exit(0),
      (error) => {
        logger.error('could not shut down cleanly', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // For the person at the keyboard only: a service's log keeps no login code.
  const link = process.stdout.isTTY ? runtime?.loginLink() : undefined;
  if (link)
    process.stdout.write(
      `\nOpen the dashboard: ${link}\n(a one-time login link, good for two minutes; \`aof dashboard\` prints a new one)\n\n`,
    );
}

/** Without AGENT_ORCHESTRATOR_API_TOKEN, the data dir's token (made at the first start): never no token. */
async function dataDirToken(dataDir: string, logger: ReturnType<typeof createLogger>): Promise<string> {
  const { token, path, created } = await ensureTokenFile(dataDir);
  logger.info(
    `${created ? 'made an admin token' : 'using the admin token'} in ${path} (AGENT_ORCHESTRATOR_API_TOKEN unset); clients of this user find it there`,
  );
  return token;
}

const RUNNER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$/;

/** `aof runner`: claims runs from a runtime and runs their agents here until SIGINT or SIGTERM. */
async function runner(opts: Record<string, unknown>): Promise<void> {
  const env = readServerEnvironment();
  const text = (key: string) => (opts[key] === undefined || opts[key] === true ? undefined : String(opts[key]));
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  const runtimes = list(text('runtime') ?? env.runtimeUrl.origin).map((url) => parseUrl('--runtime', url).origin);
  const name = text('name');
  if (name !== undefined && !RUNNER_NAME.test(name))
    throw new Error(
      `--name must be letters, digits, '_' and '-', starting with a letter or digit, 1 to 60 characters, not '${name}'`,
    );
  const max = text('max');
  if (max !== undefined && !(Number.isInteger(Number(max)) && Number(max) > 0))
    throw new Error(`--max must be a whole number, 1 or more, not '${max}'`);
  const logger = loggerFor(env, 'runner');
  const { startRunner } = await import('../servers/runner/runner.js');
  const running = await startRunner({
    runtimes,
    name,
    tags: list(text('tags')),
    maxConcurrent: max === undefined ? undefined : Number(max),
    dataDir: env.dataDir,
    token: env.token ?? tokenFromFile(process.env),
    logger,
  });
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection (the runner keeps running)', reason));
  const shutdown = (signal: string) => {
    logger.info(`${signal}: runner stopping (running agents keep going and are picked up at the next start)`);
    void running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

const program = sade('aof')
  .version(VERSION)
  .describe(
    'Runs the aof servers on the embedded store (data in AGENT_ORCHESTRATOR_DATA_DIR, default ~/.agent-orchestrator).',
  );

program.command('up', 'Start the Agent Runtime and the Agent Registry', { default: true }).action(() => serve('both'));
program.command('runtime', 'Start only the Agent Runtime (sessions)').action(() => serve('runtime'));
program.command('registry', 'Start only the Agent Registry (blueprints)').action(() => serve('registry'));
program
  .command('runner', 'Run agents on this host for a runtime elsewhere (claims its queued runs)')
  .option(
    '--runtime',
    'The runtime URL; several (replicas) comma-separated. Default: AGENT_ORCHESTRATOR_SESSION_API_URL',
  )
  .option(
    '--name',
    "This runner's name, unique among runners and the same across its restarts (default: the host name)",
  )
  .option('--tags', 'What this runner offers, comma-separated: it runs only sessions whose runner_tags it all has')
  .option('--max', 'Runs at once on this runner (default: AGENT_ORCHESTRATOR_MAX_CONCURRENT, else 8)')
  .example('runner --runtime http://10.0.0.5:8765,http://10.0.0.6:8765 --name build-1 --tags linux,gpu --max 4')
  .action((opts: Record<string, unknown>) => runner(opts));

/** `aof token ...`: people's named tokens, through the runtime (with the admin's token: the variable, or the data dir's). */
async function token(action: 'create' | 'list' | 'revoke', name: string | undefined, opts: Record<string, unknown>) {
  const ao = await orchestrator();
  const json = opts.json === true;
  const out = (value: unknown, text: string) => process.stdout.write(`${json ? JSON.stringify(value) : text}\n`);
  if (action === 'list') {
    const tokens = await ao.tokens.list();
    return out({ tokens }, tokens.map((t) => `${t.name}\t${t.role}\t${t.created_at}`).join('\n') || '(no tokens)');
  }
  if (!name) throw new Error(`give the token's name: aof token ${action} NAME`);
  if (action === 'revoke') {
    await ao.tokens.revoke(name);
    return out({ revoked: name }, `revoked ${name}`);
  }
  const role = opts.role === undefined || opts.role === true ? undefined : String(opts.role);
  if (role !== 'admin' && role !== 'operator' && role !== 'viewer' && role !== 'runner')
    throw new Error(`--role must be admin, operator, viewer or runner, not '${role ?? ''}'`);
  const made = await ao.tokens.create(name, role);
  out(
    made,
    `${made.token}\n(token '${made.name}', role ${made.role}: shown this once; give it as AGENT_ORCHESTRATOR_API_TOKEN)`,
  );
}

program
  .command('token create <name>', "Make a person's named token with a role (admin, operator, viewer); prints it once")
  .option(
    '--role',
    'admin (everything), operator (sessions and approvals), viewer (read only), runner (aof runner only)',
  )
  .option('--json', 'Print JSON')
  .action((name: string, opts: Record<string, unknown>) => token('create', name, opts));
program
  .command('token list', "List people's named tokens (names and roles, never the tokens)")
  .option('--json', 'Print JSON')
  .action((opts: Record<string, unknown>) => token('list', undefined, opts));
program
  .command('token revoke <name>', 'Revoke a named token: refused from then on')
  .option('--json', 'Print JSON')
  .action((name: string, opts: Record<string, unknown>) => token('revoke', name, opts));

/** `aof dashboard`: a one-time login link for the dashboard, as the person whose token this is. */
async function dashboardLink(opts: Record<string, unknown>): Promise<void> {
  const link = await (await orchestrator()).loginLink();
  if (opts.json === true) process.stdout.write(`${JSON.stringify(link)}\n`);
  else
    process.stdout.write(
      `${link.url}\n(open it in your browser: it signs you in once, until ${link.expires_at}; the token stays out of the URL)\n`,
    );
}

program
  .command('dashboard', 'Print a one-time login link for the dashboard (good once, for two minutes)')
  .option('--json', 'Print JSON')
  .action((opts: Record<string, unknown>) => dashboardLink(opts));

const parsed = asksForHelp(process.argv)
  ? withTrimmedLines(() => program.parse(process.argv, { lazy: true }))
  : program.parse(process.argv, { lazy: true });
if (parsed) {
  Promise.resolve(parsed.handler(...parsed.args)).catch((error: Error) => {
    process.stderr.write(`aof: ${error.message}\n`);
    process.exit(1);
  });
}
