#!/usr/bin/env node
/**
 * `ao-mcp`: the orchestrator as an MCP server. stdio by default (what an MCP client launches),
 * `--http` for Streamable HTTP on 127.0.0.1:8766/mcp. stdout is the protocol in stdio mode: every
 * log line goes to stderr.
 */
import { resolve } from 'node:path';
import sade from 'sade';
import { createLogger } from '../servers/common/logger.js';
import { VERSION } from '../servers/common/version.js';
import { asksForHelp, withTrimmedLines } from './lib/help-text.js';

interface Flags {
  http?: boolean;
  port?: string | number | boolean;
  'project-dir'?: string | boolean;
  quiet?: boolean;
}

async function run(flags: Flags): Promise<void> {
  const logger = createLogger('ao-mcp', { quiet: flags.quiet === true });
  const projectDir = flags['project-dir'];
  if (projectDir === true || projectDir === '') throw new Error('--project-dir needs a directory');
  const defaultProjectDir = typeof projectDir === 'string' ? resolve(projectDir) : process.cwd();

  if (!flags.http) {
    if (flags.port !== undefined) throw new Error('--port applies to --http only');
    // On stdio only the SDK client (over node:http) uses the fetch classes: the light ones will do.
    // Over HTTP the MCP SDK's transport works with Node's own.
    (await import('./lib/fetch-classes.js')).installFetchClasses();
    const { serveStdio } = await import('../servers/mcp/server.js');
    await serveStdio({ logger, defaultProjectDir });
    return;
  }

  let port: number | undefined;
  if (flags.port !== undefined) {
    port = Number(flags.port);
    if (flags.port === true || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port must be a port number (0 to 65535), not '${String(flags.port)}'`);
  }
  const { mcpUrl, startMcpHttp } = await import('../servers/mcp/http.js');
  const running = await startMcpHttp({
    url: mcpUrl(process.env, port),
    token: process.env.AGENT_ORCHESTRATOR_API_TOKEN || undefined,
    allowedOrigins: (process.env.AGENT_ORCHESTRATOR_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    logger,
    defaultProjectDir,
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down (sessions keep running in the Agent Runtime)`);
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

const program = sade('ao-mcp', true)
  .version(VERSION)
  .describe([
    'The aof orchestrator as an MCP server: tools to start, resume, follow and collect Claude Code agent sessions.',
    'Serves MCP on stdio (for a client to launch), or with --http on AGENT_ORCHESTRATOR_MCP_URL (default http://127.0.0.1:8766/mcp).',
    'Talks to the Agent Runtime and Registry at AGENT_ORCHESTRATOR_SESSION_API_URL / AGENT_ORCHESTRATOR_AGENT_API_URL, with AGENT_ORCHESTRATOR_API_TOKEN.',
  ])
  .option('--http', 'Serve Streamable HTTP on loopback instead of stdio')
  .option('--port', 'With --http: listen on this port (0 picks a free one)')
  .option(
    '--project-dir',
    'Where sessions work unless a tool call names a project_dir (default: the current directory)',
  )
  .option('--quiet', 'Log only warnings and errors (on stderr)')
  .example('')
  .example('--http --port 8766')
  .example('--project-dir ~/src/app')
  .action((flags: Flags) => run(flags));

const parse = () =>
  program.parse(process.argv, {
    lazy: true,
    boolean: ['http', 'quiet'],
    string: ['port', 'project-dir'],
    unknown: (flag: string) => {
      process.stderr.write(`ao-mcp: Unknown option ${flag} — see ao-mcp --help\n`);
      process.exit(1);
    },
  });
const parsed = asksForHelp(process.argv) ? withTrimmedLines(parse) : parse();
if (parsed) {
  Promise.resolve(parsed.handler(...parsed.args)).catch((error: Error) => {
    process.stderr.write(`ao-mcp: ${error.message}\n`);
    process.exit(1);
  });
}
