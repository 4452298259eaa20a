/**
 * The openapi-fetch clients, and the one place where HTTP failures become SDK errors: a middleware
 * turns error statuses into ApiError subclasses and failed connections into ConnectionError, so the
 * resource methods only ever see successful responses.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { ApiError, ConnectionError, type ServiceName } from './errors.js';
import type { ResolvedConfig } from './config.js';
import type { Problem } from './types.js';

export function createApiClient<Paths extends {}>(
  service: ServiceName,
  baseUrl: string,
  config: ResolvedConfig,
): Client<Paths> {
  const client = createClient<Paths>({
    baseUrl,
    ...(config.fetch ? { fetch: config.fetch } : {}),
    headers: config.token ? { Authorization: `Bearer ${config.token}` } : {},
  });
  client.use(errorMiddleware(service, baseUrl));
  return client;
}

function errorMiddleware(service: ServiceName, baseUrl: string): Middleware {
  return {
    async onResponse({ request, response }) {
      if (response.ok) return undefined;
      throw ApiError.from({
        service,
        method: request.method,
        url: request.url,
        status: response.status,
        problem: await readProblem(response),
        headers: response.headers,
      });
    },
    onError({ request, error }) {
      // A caller's abort (or timeout) is not a connection problem: rethrow it unchanged.
      if (request.signal.aborted) return undefined;
      return new ConnectionError(service, baseUrl, error);
    },
  };
}

async function readProblem(response: Response): Promise<Problem> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The body was cut off; the status still says what happened.
  }
  try {
    const body = JSON.parse(text) as Partial<Problem> | null;
    if (
      body &&
      typeof body === 'object' &&
      !Array.isArray(body) &&
      (typeof body.detail === 'string' || typeof body.title === 'string')
    ) {
      return { type: 'about:blank', title: response.statusText || 'Error', ...body, status: response.status };
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): made into a problem below.
  }
  const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return {
    type: 'about:blank',
    title: response.statusText || 'Error',
    status: response.status,
    detail: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${snippet ? `: ${snippet}` : ''}`,
  };
}

/** The data of a successful openapi-fetch call (the middleware has thrown for everything else). */
export async function data<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data } = await pending;
  return data as T;
}
