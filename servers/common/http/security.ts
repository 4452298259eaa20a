import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { HttpProblem } from '../contract/problem.js';
import {
  ADMIN,
  AGENT_CREDENTIAL_PREFIX,
  DASHBOARD_SESSION_PREFIX,
  NAMED_TOKEN_PREFIX,
  type Principal,
} from './principal.js';

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
  /** When set, every request needs `Authorization: Bearer <token>` (this token: a person, admin; or one `authenticate` accepts). */
  token: string | undefined;
  /**
   * Who another bearer credential names (an agent's run credential), or undefined when it names nobody.
   * An agent's credential (`aofa_...`) that it refuses is refused with 401 even when no token is set.
   */
  authenticate?: ((credential: string) => Promise<Principal | undefined>) | undefined;
  /**
   * The cookie of a dashboard session (a browser signed in with a login link), read when a request has
   * no bearer token: its name, and who its value names (undefined when it names nobody any more).
   */
  sessionCookie?: { name: string; authenticate: (value: string) => Promise<Principal | undefined> } | undefined;
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

  /** The caller, or a 401 naming what is wrong with its credential. */
  const authenticated = async (ctx: Context): Promise<Principal> => {
    const match = /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'));
    const cookie = options.sessionCookie;
    if (!match && cookie) {
      const value = ctx.cookies.get(cookie.name);
      if (value) {
        const principal = await cookie.authenticate(value);
        if (!principal) {
          ctx.set('WWW-Authenticate', 'Bearer');
          throw new HttpProblem(
            401,
            'The dashboard session has ended; sign in again (aof dashboard prints a login link)',
            {
              errors: [{ field: 'header.cookie', message: 'holds a dashboard session that is no longer good' }],
            },
          );
        }
        // A cookie goes with every request the browser makes: a write must say where it comes from (checked above).
        if (!['GET', 'HEAD', 'OPTIONS'].includes(ctx.method) && !ctx.get('origin'))
          throw new HttpProblem(403, 'A write with the dashboard session cookie must carry an Origin header', {
            code: 'forbidden-origin',
            errors: [{ field: 'header.origin', message: 'is missing' }],
          });
        return principal;
      }
    }
    const credential = match?.[1]?.trim();
    if (credential !== undefined) {
      if (tokenDigest && timingSafeEqual(digest(credential), tokenDigest)) return ADMIN;
      const principal = await options.authenticate?.(credential);
      if (principal) return principal;
    }
    // Without a token, any local process is trusted, as before; an agent's credential is still checked.
    const ours =
      credential?.startsWith(AGENT_CREDENTIAL_PREFIX) ||
      credential?.startsWith(NAMED_TOKEN_PREFIX) ||
      credential?.startsWith(DASHBOARD_SESSION_PREFIX);
    if (!tokenDigest && !ours) return ADMIN;
    ctx.set('WWW-Authenticate', 'Bearer');
    throw new HttpProblem(401, 'A valid bearer token is required (AGENT_ORCHESTRATOR_API_TOKEN)', {
      errors: [
        {
          field: 'header.authorization',
          message: !credential
            ? 'is missing'
            : credential.startsWith(AGENT_CREDENTIAL_PREFIX)
              ? "is an agent's credential that is no longer good (its run ended, or it is not this runtime's)"
              : credential.startsWith(NAMED_TOKEN_PREFIX)
                ? 'is not a token of this runtime (it was revoked, or never made)'
                : 'is not the expected token',
        },
      ],
    });
  };

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
    if (!options.isPublic?.(ctx)) ctx.state.principal = await authenticated(ctx);
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
