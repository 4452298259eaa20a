// A fake Anthropic Messages API on loopback (and on the addresses a multi-host test names), for driving
// the real Claude Code CLI in tests.
// Only what the CLI uses: POST /v1/messages (always stream:true, query ?beta=true) answered as SSE,
// POST /v1/messages/count_tokens, and a harmless answer for anything else (the CLI sends one HEAD /).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type ContentBlock = { type: string; text?: string; [key: string]: unknown };
export type Message = { role: string; content: string | ContentBlock[] };
export type MessagesBody = {
  model: string;
  messages: Message[];
  system?: string | ContentBlock[];
  tools?: Array<{ name: string; description?: string; input_schema?: unknown }>;
  stream?: boolean;
  [key: string]: unknown;
};

export type ToolResult = {
  tool_use_id: string;
  /** Raw `content` of the block: a string or an array of content blocks. */
  content: unknown;
  is_error: boolean;
  /** `content` flattened to its text. */
  text: string;
};

export type FakeRequest = {
  body: MessagesBody;
  /** Last message whose role is user or assistant (role:"system" entries are skipped). */
  lastMessage: Message | undefined;
  /**
   * Text of the last user message: its last text block that is not a `<system-reminder>`, trimmed
   * (a prompt read from stdin ends with "\n"). The first user message carries several reminder blocks
   * before the prompt. "" when there is none (e.g. a message holding only tool results).
   */
  lastUserText: string;
  /** `system` text blocks joined with "\n". */
  system: string;
  /** tool_result blocks of the last user message. */
  toolResults: ToolResult[];
  toolNames: string[];
  /** 0-based position of this request among the POST /v1/messages received. */
  index: number;
  /** The address the request came from (which host, in a multi-host test); unset outside the server. */
  remote?: string;
};

export type Reply = (
  | { text: string }
  | { toolUse: { name: string; input: object }; text?: string }
  | { error: { status: number; message: string } }
) & {
  /** Wait this long before answering; cut short when the client disconnects or the fake closes. */
  delayMs?: number;
};

export type Responder = (req: FakeRequest) => Reply | Promise<Reply>;

export type FakeModelOptions = {
  responder?: Responder;
  /**
   * Addresses to listen on besides 127.0.0.1 (each on its own ephemeral port), e.g. the host ends of
   * the test's network namespaces (test/support/hosts.ts). Never a wildcard address.
   */
  hosts?: string[];
};

export type FakeModel = {
  /** e.g. http://127.0.0.1:PORT, to pass as ANTHROPIC_BASE_URL. */
  url: string;
  /** The URL on one of the addresses it listens on (127.0.0.1 or one of `hosts`). */
  urlOn(host: string): string;
  /** Every POST /v1/messages body, in arrival order. */
  requests: MessagesBody[];
  /** The usage of every response sent in full (as message_start and message_delta said it), in order. */
  billed: Array<{ id: string; input_tokens: number; output_tokens: number }>;
  /**
   * Every HTTP request line seen (all routes), in arrival order, with the address it came from
   * (`remote`) and the address:port it came to (`local`).
   */
  hits: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; remote: string; local: string }>;
  respond(fn: Responder): void;
  close(): Promise<void>;
};

export const echoResponder: Responder = (req) => ({ text: `ECHO: ${req.lastUserText}` });

export function describeRequest(body: MessagesBody, index: number): FakeRequest {
  const conversation = body.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
  const lastUser = conversation.findLast((m) => m.role === 'user');
  const userBlocks = blocksOf(lastUser);
  const prompt = userBlocks.findLast(
    (b) => b.type === 'text' && !(b.text ?? '').trimStart().startsWith('<system-reminder>'),
  );
  return {
    body,
    lastMessage: conversation.at(-1),
    lastUserText: (prompt?.text ?? '').trim(),
    system: blocksOf({ role: 'system', content: body.system ?? [] })
      .map((b) => b.text ?? '')
      .join('\n'),
    toolResults: userBlocks
      .filter((b) => b.type === 'tool_result')
      .map((b) => ({
        tool_use_id: String(b.tool_use_id),
        content: b.content,
        is_error: b.is_error === true,
        text: textOf(b.content),
      })),
    toolNames: (body.tools ?? []).map((t) => t.name),
    index,
  };
}

function blocksOf(m: Message | undefined): ContentBlock[] {
  if (!m) return [];
  return typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b: ContentBlock) => (b.type === 'text' ? (b.text ?? '') : '')).join('');
}

// Rough token estimate, only so the CLI reports non-zero usage and a cost.
const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

export async function startFakeModel(opts: FakeModelOptions = {}): Promise<FakeModel> {
  let responder = opts.responder ?? echoResponder;
  const requests: MessagesBody[] = [];
  const billed: FakeModel['billed'] = [];
  const hits: FakeModel['hits'] = [];
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  let toolUseCounter = 0;
  let messageCounter = 0;

  const handle: http.RequestListener = (req, res) => {
    hits.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      remote: req.socket.remoteAddress ?? '',
      local: `${req.socket.localAddress}:${req.socket.localPort}`,
    });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) {
      req.resume();
      res.writeHead(req.method === 'HEAD' && path === '/' ? 200 : 404).end();
      return;
    }
    readJson(req)
      .then(
        (body) => {
          if (path === '/v1/messages/count_tokens') {
            json(res, 200, { input_tokens: tokens(JSON.stringify(body)) });
            return;
          }
          const index = requests.push(body) - 1;
          return answer({ ...describeRequest(body, index), remote: req.socket.remoteAddress ?? '' }, res);
        },
        (err: Error) => sendError(res, 400, `fake-model: bad request body: ${err.message}`, 'invalid_request_error'),
      )
      .catch((err: Error) => {
        if (!res.headersSent) sendError(res, 500, `fake-model: responder failed: ${err.message}`);
        else res.destroy();
      });
  };

  async function answer(request: FakeRequest, res: http.ServerResponse): Promise<void> {
    const { body } = request;
    const reply = await responder(request);
    if (reply.delayMs) {
      // Aborted when the client goes away (res 'close') or when the fake closes.
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      try {
        await sleep(reply.delayMs, undefined, { signal: AbortSignal.any([gone.signal, closing.signal]) });
      } catch {
        return;
      }
    }
    if ('error' in reply) {
      sendError(res, reply.error.status, reply.error.message);
      return;
    }
    const model = body.model;
    const inputTokens = tokens(JSON.stringify(body.messages));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = (type: string, data: object) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);

    const id = `msg_fake_${++messageCounter}`;
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: inputTokens,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      },
    });
    let blockIndex = 0;
    let outputText = '';
    const text = 'text' in reply ? reply.text : undefined;
    if (text !== undefined) {
      event('content_block_start', { index: blockIndex, content_block: { type: 'text', text: '' } });
      for (const piece of chunks(text))
        event('content_block_delta', { index: blockIndex, delta: { type: 'text_delta', text: piece } });
      event('content_block_stop', { index: blockIndex });
      outputText += text;
      blockIndex++;
    }
    if ('toolUse' in reply) {
      const { name, input } = reply.toolUse;
      const id = `toolu_fake_${++toolUseCounter}`;
      const inputJson = JSON.stringify(input);
      event('content_block_start', { index: blockIndex, content_block: { type: 'tool_use', id, name, input: {} } });
      for (const piece of chunks(inputJson)) {
        event('content_block_delta', { index: blockIndex, delta: { type: 'input_json_delta', partial_json: piece } });
      }
      event('content_block_stop', { index: blockIndex });
      outputText += name + inputJson;
    }
    event('message_delta', {
      delta: { stop_reason: 'toolUse' in reply ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: tokens(outputText) },
    });
    event('message_stop', {});
    res.end();
    billed.push({ id, input_tokens: inputTokens, output_tokens: tokens(outputText) });
  }

  const servers: http.Server[] = [];
  const urls = new Map<string, string>();
  try {
    for (const host of ['127.0.0.1', ...(opts.hosts ?? [])]) {
      const server = http.createServer(handle);
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      urls.set(host, `http://${host}:${(server.address() as AddressInfo).port}`);
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }

  return {
    url: urls.get('127.0.0.1')!,
    urlOn(host) {
      const url = urls.get(host);
      if (!url) throw new Error(`the fake model does not listen on ${host} (only ${[...urls.keys()].join(', ')})`);
      return url;
    },
    requests,
    billed,
    hits,
    respond(fn) {
      responder = fn;
    },
    close() {
      closing.abort();
      const closed = Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
      for (const socket of sockets) socket.destroy();
      return closed.then(() => undefined);
    },
  };
}

function readJson(req: http.IncomingMessage): Promise<MessagesBody> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as MessagesBody);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

function sendError(res: http.ServerResponse, status: number, message: string, type = 'api_error'): void {
  json(res, status, { type: 'error', error: { type, message } });
}

// Several deltas per block, so the client's stream assembly is exercised.
function chunks(s: string, size = 40): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length ? out : [''];
}
