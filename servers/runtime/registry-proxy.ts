/**
 * `/registry/...` on the runtime's origin is the Agent Registry: the dashboard (a page served by the
 * runtime) reaches both APIs same-origin, with no extra allowed origin to configure. The runtime's
 * security checks (Host, Origin, token) have passed before a request gets here; the token goes on
 * to the registry, which checks it too. The browser's Origin is not forwarded: the runtime vouched
 * for it, and the registry would see a foreign port.
 */
import type { Middleware } from 'koa';
import { BODY_LIMIT, BODY_LIMIT_BYTES } from '../common/http/app.js';
import { HttpProblem } from '../common/contract/problem.js';

export const REGISTRY_PREFIX = '/registry';
const FORWARDED_REQUEST_HEADERS = ['accept', 'authorization', 'content-type', 'if-none-match'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'www-authenticate', 'allow', 'etag', 'cache-control'];
const TIMEOUT_MS = 30_000;

/** `sessionCookie`: a dashboard session's cookie, sent on as the bearer credential when a request has none. */
export function registryProxy(registryUrl: URL, sessionCookie?: string): Middleware {
  const base = registryUrl.href.replace(/\/$/, '');
  return async (ctx, next) => {
    if (ctx.path !== REGISTRY_PREFIX && !ctx.path.startsWith(`${REGISTRY_PREFIX}/`)) return next();
    const target =
      base + (ctx.path.slice(REGISTRY_PREFIX.length) || '/') + (ctx.querystring ? `?${ctx.querystring}` : '');
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = ctx.get(name);
      if (value) headers[name] = value;
    }
    const session = sessionCookie ? ctx.cookies.get(sessionCookie) : undefined;
    if (!headers.authorization && session) headers.authorization = `Bearer ${session}`;
    const body = ctx.method === 'GET' || ctx.method === 'HEAD' ? undefined : await readBody(ctx.req);
    let response: Response;
    try {
      response = await fetch(target, {
        method: ctx.method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new HttpProblem(502, `The Agent Registry at ${base} does not answer (${code})`);
    }
    ctx.status = response.status;
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = response.headers.get(name);
      if (value) ctx.set(name, value);
    }
    const location = response.headers.get('location');
    if (location) ctx.set('Location', location.startsWith('/') ? REGISTRY_PREFIX + location : location);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length || ctx.status !== 204) ctx.body = bytes;
  };
}

async function readBody(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) {
      throw new HttpProblem(413, `The request body is larger than ${BODY_LIMIT}`, {
        errors: [{ field: 'body', message: `is larger than ${BODY_LIMIT}` }],
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
