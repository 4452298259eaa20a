import { type ClientRequest, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { AGENT, HOST, TOKEN, type FuzzRequest } from './requests.js';

export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined. */
  json: any;
  /** No answer: the connection failed, was reset or timed out. */
  error?: string;
  /** The request could not even be sent (the HTTP client refused a header); not the server's doing. */
  unsendable?: string;
}

const TIMEOUT_MS = 30_000;

/** Sends `req` to `baseUrl` (its placeholders filled in) and reads the answer. */
export function send(req: FuzzRequest, baseUrl: string, token: string, agent = ''): Promise<FuzzResponse> {
  const url = new URL(baseUrl);
  const fill = (text: string) => text.replaceAll(HOST, url.host).replaceAll(TOKEN, token).replaceAll(AGENT, agent);
  if (req.raw !== undefined) return sendRaw(fill(req.raw), url);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.map(fill) : fill(v);
  // Node sends a GET's or DELETE's body without a length unless told: say it, as any client does.
  if (req.body !== undefined && !headers['transfer-encoding'])
    headers['content-length'] = String(Buffer.byteLength(req.body));
  return new Promise((resolve) => {
    let settled = false;
    const done = (response: FuzzResponse) => {
      if (settled) return;
      settled = true;
      resolve(response);
    };
    let client: ClientRequest;
    let answered = false;
    try {
      client = request(
        {
          host: url.hostname,
          port: url.port,
          method: req.method,
          path: req.target,
          headers,
          createConnection: () => keepsReadingAfterAFailedWrite(connect(Number(url.port), url.hostname)),
        },
        (res) => {
          answered = true;
          const base = { status: res.statusCode ?? 0, headers: res.headers };
          if (res.statusCode === 200 && String(res.headers['content-type']).startsWith('text/event-stream')) {
            // An event stream stays open: its head is the answer.
            res.destroy();
            client!.destroy();
            done({ ...base, text: '', json: undefined });
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => done({ ...base, ...parse(Buffer.concat(chunks).toString('utf8')) }));
          // Cut off before its end ('error', then 'close'): an answer all the same; the oracle reads
          // what came of its body.
          res.on('error', () => {});
          res.on('close', () => done({ ...base, ...parse(Buffer.concat(chunks).toString('utf8')) }));
        },
      );
    } catch (error) {
      done({ status: 0, headers: {}, text: '', json: undefined, unsendable: (error as Error).message });
      return;
    }
    client.setTimeout(TIMEOUT_MS, () => {
      done({ status: 0, headers: {}, text: '', json: undefined, error: `no answer within ${TIMEOUT_MS} ms` });
      client.destroy();
    });
    client.on('error', (error: NodeJS.ErrnoException) => {
      // Once an answer came, the connection ending badly is the response's business (above).
      if (!answered)
        done({ status: 0, headers: {}, text: '', json: undefined, error: `${error.code ?? ''} ${error.message}` });
    });
    client.end(req.body);
  });
}

/**
 * A server may answer before it has read the whole body (a 413 on the Content-Length alone) and close
 * the connection; writing the rest then fails (EPIPE, ECONNRESET) while the answer already waits in
 * the socket. Node would destroy the socket on the failed write, unread answer and all: this socket
 * stops writing instead and keeps reading, so the HTTP client reads the answer (or, if none came,
 * sees the connection end without one).
 */
function keepsReadingAfterAFailedWrite(socket: Socket): Socket {
  type Done = (error?: Error | null) => void;
  const writable = socket as unknown as {
    _write(chunk: unknown, encoding: BufferEncoding, done: Done): void;
    _writev(chunks: unknown[], done: Done): void;
  };
  let failed = false;
  const unlessPeerGone =
    (done: Done): Done =>
    (error) => {
      const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
      if (code === 'EPIPE' || code === 'ECONNRESET') failed = true;
      done(failed ? null : error);
    };
  const write = writable._write.bind(socket);
  const writev = writable._writev.bind(socket);
  writable._write = (chunk, encoding, done) => (failed ? done() : write(chunk, encoding, unlessPeerGone(done)));
  writable._writev = (chunks, done) => (failed ? done() : writev(chunks, unlessPeerGone(done)));
  return socket;
}

function sendRaw(bytes: string, url: URL): Promise<FuzzResponse> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      // Interim answers (`100 Continue`) come before the answer.
      const text = Buffer.concat(chunks)
        .toString('latin1')
        .replace(/^(HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n)+/, '');
      const head = text.split('\r\n\r\n')[0] ?? '';
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      if (!status) {
        resolve({
          status: 0,
          headers: {},
          text,
          json: undefined,
          error: error ?? `no HTTP answer (${JSON.stringify(text.slice(0, 80))})`,
        });
        return;
      }
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = text.slice(head.length + 4);
      // A chunked body: its first chunk is enough for the short problem documents.
      const payload = /chunked/i.test(headers['transfer-encoding'] ?? '')
        ? body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '')
        : body;
      resolve({ status, headers, ...parse(Buffer.from(payload, 'latin1').toString('utf8')) });
    };
    socket.setTimeout(10_000, () => finish('no answer within 10 s'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    socket.on('end', () => finish());
    // Half-closes after the bytes: a body cut short ends there, and the answer can still come back.
    socket.end(Buffer.from(bytes, 'latin1'));
  });
}

function parse(text: string): { text: string; json: any } {
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    return { text, json: undefined };
  }
}
