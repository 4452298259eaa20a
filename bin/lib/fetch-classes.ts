/**
 * Small Headers, Request and Response classes for the commands' own process. Node 20 defines the
 * WHATWG ones lazily, and the first touch loads its whole fetch implementation (undici): about
 * 40 ms, a third of a command's start-up, paid on every call an agent makes. openapi-fetch needs
 * these classes only to carry a request to `nodeFetch` (node-fetch.ts) and a response back, so
 * this much suffices. Installed before the SDK is imported, and only where nothing touched the
 * built-in ones yet: by the ao-* commands, `aof token`, `aof dashboard`, ao-mcp on stdio and the
 * permission tool; servers (ao-mcp --http too) and library users keep Node's own.
 */

type HeadersInit = LightHeaders | Record<string, string> | Array<[string, string]> | Iterable<[string, string]>;

export class LightHeaders {
  readonly #map = new Map<string, string>();

  constructor(init?: HeadersInit) {
    if (!init) return;
    const entries =
      init instanceof LightHeaders || Symbol.iterator in Object(init)
        ? (init as Iterable<[string, string]>)
        : Object.entries(init as Record<string, string>);
    for (const [key, value] of entries) this.append(key, value);
  }

  append(key: string, value: string): void {
    const name = key.toLowerCase();
    const current = this.#map.get(name);
    this.#map.set(name, current === undefined ? String(value) : `${current}, ${value}`);
  }
  set(key: string, value: string): void {
    this.#map.set(key.toLowerCase(), String(value));
  }
  get(key: string): string | null {
    return this.#map.get(key.toLowerCase()) ?? null;
  }
  has(key: string): boolean {
    return this.#map.has(key.toLowerCase());
  }
  delete(key: string): void {
    this.#map.delete(key.toLowerCase());
  }
  forEach(callback: (value: string, key: string, parent: LightHeaders) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
  *entries(): IterableIterator<[string, string]> {
    yield* [...this.#map.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  }
  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

type Body = string | Uint8Array | ReadableStream<Uint8Array> | null | undefined;

async function readAll(body: Body): Promise<Uint8Array> {
  if (body === null || body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

class BodyMixin {
  #body: Body;
  #used = false;
  constructor(body: Body) {
    this.#body = body ?? null;
  }
  get body(): Body {
    return this.#body;
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    const bytes = await readAll(this.#body);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

interface LightRequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: Body;
  signal?: AbortSignal | null;
  [key: string]: unknown;
}

export class LightRequest extends BodyMixin {
  readonly url: string;
  readonly method: string;
  readonly headers: LightHeaders;
  readonly signal: AbortSignal;

  constructor(input: string | URL | LightRequest, init: LightRequestInit = {}) {
    const from = input instanceof LightRequest ? input : undefined;
    super(init.body ?? (from?.body as Body));
    this.url = from ? from.url : String(input);
    this.method = (init.method ?? from?.method ?? 'GET').toUpperCase();
    this.headers = new LightHeaders(init.headers ?? from?.headers);
    this.signal = init.signal ?? from?.signal ?? new AbortController().signal;
  }

  clone(): LightRequest {
    return new LightRequest(this);
  }
}

interface LightResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

export class LightResponse extends BodyMixin {
  readonly status: number;
  readonly statusText: string;
  readonly headers: LightHeaders;

  constructor(body?: Body, init: LightResponseInit = {}) {
    super(body);
    this.status = init.status ?? 200;
    this.statusText = init.statusText ?? '';
    this.headers = new LightHeaders(init.headers);
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
}

/** Puts the small classes in place of Node's lazy ones, unless those were already loaded. */
export function installFetchClasses(): void {
  const replace = (name: string, value: unknown) => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
    // A getter means Node's class was never asked for: swap it before anyone does.
    if (!descriptor || descriptor.get)
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  };
  replace('Headers', LightHeaders);
  replace('Request', LightRequest);
  replace('Response', LightResponse);
}
