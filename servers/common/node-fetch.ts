/**
 * A `fetch` for the SDK in our own processes (`new Orchestrator({ fetch: nodeFetch })`): one request
 * over node:http(s) instead of Node's built-in fetch. Node 20's fetch (undici) sets up its HTTP parser
 * (WebAssembly) on the first request of a process, about 150 ms of CPU — more than the rest of a
 * command's start-up, paid on every call an agent makes, and by every MCP server and permission tool
 * an agent starts. node:http has its parser built in. Streaming bodies (the SSE event stream), aborts and
 * connection errors behave as with fetch: a failed connection is `TypeError('fetch failed')` whose
 * `cause` is the socket error (ECONNREFUSED, ...), which the SDK turns into a ConnectionError.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/**
 * As with Node's fetch (undici's headersTimeout and bodyTimeout): a connection silent this long, before
 * the answer's headers or between parts of its body, fails, so a peer that hangs (rather than goes
 * away) cannot hold a caller forever: a runner's long poll moves on to the next runtime.
 */
const SILENCE_MS = 300_000;

export async function nodeFetch(input: Request): Promise<Response> {
  const url = new URL(input.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
  const body = input.body ? Buffer.from(await input.arrayBuffer()) : undefined;
  const headers: Record<string, string> = {};
  input.headers.forEach((value, key) => {
    headers[key] = value;
  });
  if (body) headers['content-length'] = String(body.length);
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  input.signal.throwIfAborted();

  return new Promise<Response>((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: input.method, headers, signal: input.signal }, (res: IncomingMessage) => {
      answered = true;
      const status = res.statusCode ?? 502;
      const responseHeaders = new Headers();
      for (const [key, value] of Object.entries(res.headers)) {
        if (Array.isArray(value))
          value.forEach((v) => {
            responseHeaders.append(key, v);
          });
        else if (value !== undefined) responseHeaders.set(key, value);
      }
      const noBody = status === 204 || status === 304 || input.method === 'HEAD';
      if (noBody) res.resume();
      const stream = noBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
      resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
    });
    req.once('error', (error) => {
      // Like fetch: the caller's abort surfaces as the signal's reason, anything else as 'fetch failed'.
      if (input.signal.aborted) reject(input.signal.reason);
      else reject(new TypeError('fetch failed', { cause: error }));
    });
    req.setTimeout(SILENCE_MS, () => {
      const error = new Error(`${answered ? 'Body' : 'Headers'} Timeout Error`);
      req.destroy(Object.assign(error, { code: answered ? 'UND_ERR_BODY_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT' }));
    });
    req.end(body);
  });
}
