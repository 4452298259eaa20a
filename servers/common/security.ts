import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { HttpProblem } from './problem.js';

export interface SecurityOptions {
  /** The URL the server answers at; its host and port are the ones a request may name. */
  url: URL;
  /** Origins (scheme://host:port) a browser may call from, besides the server's own. */
  allowedOrigins: string[];
  /**
   * More names a request may give as its Host (a load balancer's): `name` for any port, `name:port`
   * for that one (AGENT_ORCHESTRATOR_ALLOWED_HOSTS). A browser page served under one of them is same-origin.
   */
  allowedHosts?: string[] | undefined;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** Requests that need no token (files that hold no data, such as the dashboard's). Host and Origin are still checked. */
  isPublic?: ((ctx: Context) => boolean) | undefined;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The servers launch processes that can edit files, so they refuse what a hostile web page could
 * send: a foreign Host header (DNS rebinding) or a foreign Origin (cross-site requests). The port
 * is read from the socket, so an ephemeral port (`:0` in the URL) works too.
 */
export function securityGuard(options: SecurityOptions): Middleware {
  const hostnames = new Set([options.url.hostname.toLowerCase(), ...LOOPBACK_NAMES]);
  const extraHosts = new Set((options.allowedHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean));
  /** `host` (a Host header's value, or an origin's host) names this server. */
  const isAllowed = (host: string, own: Set<string>) =>
    own.has(host) || extraHosts.has(host) || extraHosts.has(host.replace(/:\d+$/, ''));
  const allowedOrigins = new Set(options.allowedOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  const tokenDigest = options.token ? digest(options.token) : undefined;

  return async (ctx, next) => {
    // Node keeps the first of repeated Host and Authorization headers; a proxy may keep another.
    // The request is ambiguous, so it is refused (RFC 9112 requires it for Host).
    for (const name of ['host', 'authorization']) {
      if (ctx.req.headersDistinct[name] && ctx.req.headersDistinct[name]!.length > 1) {
        throw new HttpProblem(400, `The ${name} header is given more than once`, {
          errors: [{ field: `header.${name}`, message: 'is given more than once' }],
        });
      }
    }
    const port = ctx.req.socket.localPort;
    const allowedHosts = new Set([...hostnames].map((h) => `${h}:${port}`));
    const host = (ctx.get('host') || '').toLowerCase();
    if (!isAllowed(host, allowedHosts)) {
      throw new HttpProblem(403, `Host '${host || '(none)'}' is not allowed; use ${options.url.hostname}:${port}`, {
        code: 'forbidden-host',
        errors: [{ field: 'header.host', message: 'is not this server' }],
      });
    }
    const origin = ctx.get('origin').toLowerCase();
    if (origin && !allowedOrigins.has(origin) && !isSameOrigin(origin, allowedHosts, extraHosts)) {
      throw new HttpProblem(403, `Origin '${origin}' is not allowed (see AGENT_ORCHESTRATOR_ALLOWED_ORIGINS)`, {
        code: 'forbidden-origin',
        errors: [{ field: 'header.origin', message: 'is not an allowed origin' }],
      });
    }
    if (tokenDigest && !options.isPublic?.(ctx)) {
      const match = /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'));
      if (!match || !timingSafeEqual(digest(match[1]!.trim()), tokenDigest)) {
        ctx.set('WWW-Authenticate', 'Bearer');
        throw new HttpProblem(401, 'A valid bearer token is required (AGENT_ORCHESTRATOR_API_TOKEN)', {
          errors: [{ field: 'header.authorization', message: match ? 'is not the expected token' : 'is missing' }],
        });
      }
    }
    await next();
  };
}

/** A page of this server: on its own address (http), or under a load balancer's name (which may add TLS). */
function isSameOrigin(origin: string, own: Set<string>, extra: Set<string>): boolean {
  try {
    const url = new URL(origin);
    if (url.protocol === 'http:' && own.has(url.host)) return true;
    return (url.protocol === 'http:' || url.protocol === 'https:') && (extra.has(url.host) || extra.has(url.hostname));
  } catch {
    return false;
  }
}

// Comparing fixed-size digests keeps timingSafeEqual from leaking the token's length.
const digest = (value: string) => createHash('sha256').update(value).digest();
