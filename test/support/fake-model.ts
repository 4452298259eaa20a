// The fake model on loopback (and on the addresses a multi-host test names), for driving the real agent
// CLIs in tests. One server speaks the three wires they use, each scripted by the same responder:
// - Anthropic Messages (Claude Code, OpenCode): POST /v1/messages (stream:true, ?beta=true) as SSE,
//   POST /v1/messages/count_tokens, and a harmless answer for anything else (Claude Code sends one HEAD /);
// - OpenAI Responses (Codex): POST /v1/responses as SSE;
// - Gemini (Gemini CLI): POST /v1beta/models/MODEL:streamGenerateContent?alt=sse as SSE, and
//   :generateContent and :countTokens.
// A request on the other wires is put into the Messages shape (`requests`, `describeRequest`), so a
// responder reads it the same way whichever CLI asked; `wire` says which it was.
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

/** Which API a request came in on. */
export type Wire = 'anthropic' | 'openai' | 'gemini';

export type FakeRequest = {
  /** The request in the Messages shape (for the other wires: translated, see `toMessages`). */
  body: MessagesBody;
  wire: Wire;
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
  | {
      error: {
        status: number;
        message: string;
        /** The error's `type` (Anthropic wire; default `api_error`), e.g. `rate_limit_error`. */
        type?: string;
        /** Response headers, e.g. `retry-after` or `anthropic-ratelimit-unified-reset` (see `usageLimitReply`). */
        headers?: Record<string, string>;
      };
    }
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

/**
 * The API's answer when the account is out of its usage limit: 429 `rate_limit_error` with the
 * headers a subscription's unified limit carries, resetting at `resetsAt` (ms since the epoch,
 * rounded down to a second as the header is). Claude Code 2.1.197 logged in with a subscription
 * (CLAUDE_CODE_OAUTH_TOKEN) prints a `rate_limit_event` with `resetsAt` and "You've hit your
 * session limit · resets ..."; with an API key it shows only the 429 (see
 * /work/shared/notes/claude-code-headless.md). Without `resetsAt`: a plain 429, with `retry-after`
 * when `retryAfterSeconds` is given.
 */
export function usageLimitReply(resetsAt?: number, retryAfterSeconds?: number): Reply {
  const headers: Record<string, string> = {};
  if (resetsAt !== undefined) {
    headers['anthropic-ratelimit-unified-status'] = 'rejected';
    headers['anthropic-ratelimit-unified-reset'] = String(Math.floor(resetsAt / 1000));
    headers['anthropic-ratelimit-unified-representative-claim'] = 'five_hour';
  }
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return {
    error: { status: 429, type: 'rate_limit_error', message: 'fake-model: usage limit reached', headers },
  };
}

export function describeRequest(body: MessagesBody, index: number, wire: Wire = 'anthropic'): FakeRequest {
  const conversation = body.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
  const lastUser = conversation.findLast((m) => m.role === 'user');
  const userBlocks = blocksOf(lastUser);
  const prompt = userBlocks.findLast(
    (b) => b.type === 'text' && !(b.text ?? '').trimStart().startsWith('<system-reminder>'),
  );
  return {
    body,
    wire,
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
    const route = routeOf(req.method ?? '', path);
    if (!route) {
      req.resume();
      res.writeHead(req.method === 'HEAD' && path === '/' ? 200 : 404).end();
      return;
    }
    readJson(req)
      .then(
        (raw) => {
          if (route.kind === 'count') {
            const count = tokens(JSON.stringify(raw));
            json(res, 200, route.wire === 'gemini' ? { totalTokens: count } : { input_tokens: count });
            return;
          }
          const body = toMessages(route.wire, raw, route.model);
          const index = requests.push(body) - 1;
          const request = { ...describeRequest(body, index, route.wire), remote: req.socket.remoteAddress ?? '' };
          return answer(request, route, res);
        },
        (err: Error) =>
          sendError(res, route.wire, 400, `fake-model: bad request body: ${err.message}`, 'invalid_request_error'),
      )
      .catch((err: Error) => {
        if (!res.headersSent) sendError(res, route.wire, 500, `fake-model: responder failed: ${err.message}`);
        else res.destroy();
      });
  };

  async function answer(request: FakeRequest, route: Route, res: http.ServerResponse): Promise<void> {
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
      sendError(res, route.wire, reply.error.status, reply.error.message, reply.error.type, reply.error.headers);
      return;
    }
    const text = 'text' in reply ? reply.text : undefined;
    const toolUse = 'toolUse' in reply ? reply.toolUse : undefined;
    const toolUseId = toolUse && `${route.wire === 'anthropic' ? 'toolu' : 'call'}_fake_${++toolUseCounter}`;
    const inputTokens = tokens(JSON.stringify(body.messages));
    const outputTokens = tokens((text ?? '') + (toolUse ? toolUse.name + JSON.stringify(toolUse.input) : ''));
    const id = `msg_fake_${++messageCounter}`;
    const answered = { id, text, toolUse: toolUse && { ...toolUse, id: toolUseId! }, inputTokens, outputTokens };
    if (route.wire === 'openai') sendResponses(res, answered, body.model);
    else if (route.wire === 'gemini') sendGemini(res, answered, body.model, route.kind === 'stream');
    else sendMessages(res, answered, body.model);
    billed.push({ id, input_tokens: inputTokens, output_tokens: outputTokens });
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

type Route = { wire: Wire; kind: 'stream' | 'once' | 'count'; model?: string };

function routeOf(method: string, path: string): Route | null {
  if (method !== 'POST') return null;
  if (path === '/v1/messages') return { wire: 'anthropic', kind: 'stream' };
  if (path === '/v1/messages/count_tokens') return { wire: 'anthropic', kind: 'count' };
  if (path === '/v1/responses') return { wire: 'openai', kind: 'stream' };
  const gemini = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/.exec(
    path,
  );
  if (!gemini) return null;
  const kind = gemini[2] === 'countTokens' ? 'count' : gemini[2] === 'generateContent' ? 'once' : 'stream';
  return { wire: 'gemini', kind, model: decodeURIComponent(gemini[1]!) };
}

type Json = any;

/** A request of any wire in the Messages shape: system text, user/assistant turns of text, tool_use and tool_result blocks. */
export function toMessages(wire: Wire, raw: Json, model?: string): MessagesBody {
  if (wire === 'anthropic') return raw as MessagesBody;
  const system: string[] = [];
  const messages: Message[] = [];
  const add = (role: string, block: ContentBlock) => {
    const last = messages.at(-1);
    if (last && last.role === role && Array.isArray(last.content)) last.content.push(block);
    else messages.push({ role, content: [block] });
  };
  let toolNames: string[];
  if (wire === 'openai') {
    if (typeof raw.instructions === 'string') system.push(raw.instructions);
    for (const item of Array.isArray(raw.input) ? raw.input : []) {
      if (item?.type === 'message' || (item?.role && item?.type === undefined)) {
        const parts = typeof item.content === 'string' ? [{ text: item.content }] : (item.content ?? []);
        const texts = parts.filter((p: Json) => typeof p?.text === 'string').map((p: Json) => p.text as string);
        if (item.role === 'developer' || item.role === 'system') system.push(...texts);
        else for (const text of texts) add(item.role, { type: 'text', text });
      } else if (item?.type === 'function_call' || item?.type === 'custom_tool_call') {
        add('assistant', {
          type: 'tool_use',
          id: item.call_id,
          name: item.name,
          input: parseArgs(item.arguments ?? item.input),
        });
      } else if (item?.type === 'function_call_output' || item?.type === 'custom_tool_call_output') {
        add('user', { type: 'tool_result', tool_use_id: item.call_id, content: outputText(item.output) });
      }
    }
    toolNames = (Array.isArray(raw.tools) ? raw.tools : []).map((t: Json) => String(t?.name ?? t?.type));
  } else {
    for (const part of raw.systemInstruction?.parts ?? []) if (typeof part?.text === 'string') system.push(part.text);
    for (const content of Array.isArray(raw.contents) ? raw.contents : []) {
      const role = content?.role === 'model' ? 'assistant' : 'user';
      for (const part of content?.parts ?? []) {
        if (typeof part?.text === 'string' && !part.thought) add(role, { type: 'text', text: part.text });
        else if (part?.functionCall) {
          const call = part.functionCall;
          add(role, { type: 'tool_use', id: call.id ?? call.name, name: call.name, input: call.args ?? {} });
        } else if (part?.functionResponse) {
          const done = part.functionResponse;
          const response = done.response ?? {};
          const content = typeof response.output === 'string' ? response.output : JSON.stringify(response);
          add(role, { type: 'tool_result', tool_use_id: done.id ?? done.name, content, is_error: 'error' in response });
        }
      }
    }
    toolNames = (raw.tools ?? []).flatMap((t: Json) =>
      (t?.functionDeclarations ?? []).map((f: Json) => String(f?.name)),
    );
  }
  return {
    model: String(model ?? raw.model ?? ''),
    system: system.join('\n'),
    messages,
    tools: toolNames.map((name) => ({ name })),
    stream: true,
  };
}

function parseArgs(args: unknown): object {
  if (typeof args !== 'string') return (args as object) ?? {};
  try {
    return JSON.parse(args) as object;
  } catch {
    return { input: args };
  }
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return output.map((p: Json) => (typeof p?.text === 'string' ? p.text : '')).join('');
  if (output && typeof output === 'object' && typeof (output as Json).content === 'string')
    return (output as Json).content;
  return JSON.stringify(output ?? '');
}

type Answered = {
  id: string;
  text: string | undefined;
  toolUse: { id: string; name: string; input: object } | undefined;
  inputTokens: number;
  outputTokens: number;
};

function sse(res: http.ServerResponse): (type: string | null, data: object) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  return (type, data) => res.write(`${type ? `event: ${type}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
}

/** The Anthropic Messages stream. */
function sendMessages(res: http.ServerResponse, a: Answered, model: string): void {
  const send = sse(res);
  const event = (type: string, data: object) => send(type, { type, ...data });
  event('message_start', {
    message: {
      id: a.id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: a.inputTokens,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
  });
  let index = 0;
  if (a.text !== undefined) {
    event('content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const piece of chunks(a.text))
      event('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
    event('content_block_stop', { index });
    index++;
  }
  if (a.toolUse) {
    const { id, name, input } = a.toolUse;
    event('content_block_start', { index, content_block: { type: 'tool_use', id, name, input: {} } });
    for (const piece of chunks(JSON.stringify(input))) {
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
    }
    event('content_block_stop', { index });
  }
  event('message_delta', {
    delta: { stop_reason: a.toolUse ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: a.outputTokens },
  });
  event('message_stop', {});
  res.end();
}

/** The OpenAI Responses stream: a message item for the text, a function_call item for the tool. */
function sendResponses(res: http.ServerResponse, a: Answered, model: string): void {
  const send = sse(res);
  const event = (type: string, data: object) => send(type, { type, ...data });
  const id = `resp_${a.id}`;
  event('response.created', { response: { id, object: 'response', model, status: 'in_progress', output: [] } });
  const output: object[] = [];
  if (a.text !== undefined) {
    const itemId = `${a.id}_text`;
    const output_index = output.length;
    event('response.output_item.added', {
      output_index,
      item: { type: 'message', id: itemId, role: 'assistant', status: 'in_progress', content: [] },
    });
    for (const delta of chunks(a.text))
      event('response.output_text.delta', { item_id: itemId, output_index, content_index: 0, delta });
    const item = {
      type: 'message',
      id: itemId,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: a.text, annotations: [] }],
    };
    event('response.output_item.done', { output_index, item });
    output.push(item);
  }
  if (a.toolUse) {
    const item = {
      type: 'function_call',
      id: `fc_${a.id}`,
      call_id: a.toolUse.id,
      name: a.toolUse.name,
      arguments: JSON.stringify(a.toolUse.input),
      status: 'completed',
    };
    event('response.output_item.added', { output_index: output.length, item: { ...item, arguments: '' } });
    event('response.output_item.done', { output_index: output.length, item });
    output.push(item);
  }
  event('response.completed', {
    response: {
      id,
      object: 'response',
      model,
      status: 'completed',
      output,
      usage: {
        input_tokens: a.inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: a.outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: a.inputTokens + a.outputTokens,
      },
    },
  });
  res.end();
}

/** Gemini's generateContent answer, streamed (SSE, one chunk per text piece) or whole (JSON). */
function sendGemini(res: http.ServerResponse, a: Answered, model: string, stream: boolean): void {
  const usageMetadata = {
    promptTokenCount: a.inputTokens,
    candidatesTokenCount: a.outputTokens,
    totalTokenCount: a.inputTokens + a.outputTokens,
  };
  const chunk = (parts: object[], last: boolean) => ({
    candidates: [{ content: { role: 'model', parts }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
    ...(last ? { usageMetadata } : {}),
    modelVersion: model,
    responseId: a.id,
  });
  const call = a.toolUse && { functionCall: { id: a.toolUse.id, name: a.toolUse.name, args: a.toolUse.input } };
  if (!stream) {
    const parts = [...(a.text !== undefined ? [{ text: a.text }] : []), ...(call ? [call] : [])];
    json(res, 200, chunk(parts, true));
    return;
  }
  const send = sse(res);
  const pieces = a.text !== undefined ? chunks(a.text) : [];
  pieces.forEach((text, i) => {
    send(null, chunk([{ text }], !call && i === pieces.length - 1));
  });
  if (call || !pieces.length) send(null, chunk(call ? [call] : [{ text: '' }], true));
  res.end();
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

/** An error in the shape of the wire's API, so that each CLI reports its message. */
function sendError(
  res: http.ServerResponse,
  wire: Wire,
  status: number,
  message: string,
  type = 'api_error',
  headers: Record<string, string> = {},
): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (wire === 'openai') {
    json(res, status, {
      error: { message, type: status < 500 ? 'invalid_request_error' : 'server_error', code: null },
    });
  } else if (wire === 'gemini') {
    json(res, status, { error: { code: status, message, status: status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL' } });
  } else {
    json(res, status, { type: 'error', error: { type, message } });
  }
}

// Several deltas per block, so the client's stream assembly is exercised.
function chunks(s: string, size = 40): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length ? out : [''];
}
