/**
 * The aof MCP server over Streamable HTTP, on its own loopback port (default 8766).
 *
 * A small Koa app in front of the MCP SDK's transport, so the servers' own guard applies unchanged:
 * a foreign Host (DNS rebinding) or Origin (cross-site) is refused with 403, and with a token set
 * every request needs `Authorization: Bearer <token>` (401 otherwise). The transport is stateless:
 * each POST gets a fresh McpServer and transport (the tools keep no state between calls), so there
 * are no MCP sessions to track or expire, and GET/DELETE on the endpoint answer 405.
 */
import Koa from 'koa';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { parseUrl } from '../common/config.js';
import { listen } from '../common/http/listen.js';
import type { Logger } from '../common/logger.js';
import { HttpProblem } from '../common/contract/problem.js';
import { securityGuard } from '../common/http/security.js';
import { VERSION, type RunningServer } from '../common/http/server.js';
import { createMcpServer, type McpServerOptions } from './server.js';

export const DEFAULT_MCP_URL = 'http://127.0.0.1:8766/mcp';
export const MCP_URL_VARIABLE = 'AGENT_ORCHESTRATOR_MCP_URL';
const DEFAULT_PATH = '/mcp';

export interface McpHttpOptions extends McpServerOptions {
  /** Where to listen and the endpoint's path, e.g. http://127.0.0.1:8766/mcp (port 0 picks a free one; path `/` means /mcp). */
  url: URL;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Origins (scheme://host:port) a browser may call from, besides the server's own. */
  allowedOrigins?: string[] | undefined;
  logger: Logger;
}

export interface RunningMcpHttp extends RunningServer {
  /** The MCP endpoint clients connect to, e.g. http://127.0.0.1:8766/mcp. */
  endpoint: string;
}

/** Reads AGENT_ORCHESTRATOR_MCP_URL (default http://127.0.0.1:8766/mcp); `port` replaces its port. */
export function mcpUrl(env: NodeJS.ProcessEnv = process.env, port?: number): URL {
  const url = parseUrl(MCP_URL_VARIABLE, env[MCP_URL_VARIABLE] || DEFAULT_MCP_URL);
  if (port !== undefined) url.port = String(port);
  return url;
}

/** 127.0.0.0/8, ::1 and localhost: the MCP server launches agents that can edit files, so it never listens elsewhere. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startMcpHttp(options: McpHttpOptions): Promise<RunningMcpHttp> {
  const { url, token, allowedOrigins, logger, ...serverOptions } = options;
  if (!isLoopback(url.hostname)) {
    throw new Error(
      `The MCP server listens on loopback only (127.0.0.1, localhost or [::1]), not '${url.hostname}' — fix ${MCP_URL_VARIABLE}`,
    );
  }
  const path = url.pathname === '/' || url.pathname === '' ? DEFAULT_PATH : url.pathname.replace(/\/+$/, '');
  const app = new Koa();
  app.use(problems(logger));
  app.use(securityGuard({ url, allowedOrigins: allowedOrigins ?? [], token }));
  app.use(async (ctx) => {
    if (ctx.path === '/health' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.body = { status: 'ok', service: 'aof-mcp', version: VERSION, endpoint: path };
      return;
    }
    if (ctx.path !== path)
      throw new HttpProblem(404, `No route ${ctx.method} ${ctx.path}; the MCP endpoint is ${path}`);
    if (ctx.method !== 'POST') {
      ctx.set('Allow', 'POST');
      throw new HttpProblem(405, `${ctx.method} is not allowed on ${path}: this MCP server is stateless, use POST`);
    }
    ctx.respond = false; // the transport writes the response
    const server = createMcpServer(serverOptions);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    transport.onerror = (error) => logger.error('MCP transport', error);
    ctx.res.once('close', () => {
      // Aborts a tool still waiting (the client went away); the session itself keeps running.
      void server.close().catch(() => undefined);
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(ctx.req, ctx.res);
    } catch (error) {
      logger.error(`MCP request on ${path}`, error);
      if (!ctx.res.headersSent) {
        ctx.res.writeHead(500, { 'content-type': 'application/json' });
        ctx.res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32603, message: 'Internal server error; see the MCP server log' },
            id: null,
          }),
        );
      }
    }
  });
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
    logger.error('unhandled', error);
  });

  const listening = await listen(app, url);
  const endpoint = `${listening.url}${path}`;
  logger.info(`aof MCP server listening on ${endpoint}`);
  return { url: listening.url, endpoint, close: listening.close };
}

/** HttpProblem (from the guard and the routes above) → problem+json, like the other servers. */
function problems(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
      const problem =
        caught instanceof HttpProblem
          ? caught
          : new HttpProblem(500, 'The server failed to handle this request; see its log');
      if (!(caught instanceof HttpProblem)) logger.error(`internal error on ${ctx.method} ${ctx.path}`, caught);
      ctx.status = problem.status;
      ctx.type = 'application/problem+json';
      ctx.body = problem.toJSON(ctx.path);
    }
  };
}
