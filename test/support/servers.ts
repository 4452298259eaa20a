import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger, type Logger } from '../../servers/common/logger.js';
import { startRegistry, type RegistryOptions } from '../../servers/registry/server.js';
import type { RunningServer } from '../../servers/common/http/server.js';

export const tempDir = (prefix = 'aof-test-') => mkdtemp(join(tmpdir(), prefix));

export interface TestRegistry extends RunningServer {
  dataDir: string;
}

/** The real Agent Registry on an ephemeral loopback port with a fresh data dir (unless given one). */
export async function startTestRegistry(options: Partial<RegistryOptions> = {}): Promise<TestRegistry> {
  const dataDir = options.dataDir ?? (await tempDir());
  const server = await startRegistry({
    url: new URL('http://127.0.0.1:0'),
    logger: options.logger ?? testLogger(),
    ...options,
    dataDir,
  });
  return { ...server, dataDir };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Quiet unless AOF_TEST_LOGS=1, which shows the servers' logs while debugging a test. */
export function testLogger(name = 'test'): Logger {
  return process.env.AOF_TEST_LOGS ? createLogger(name) : silentLogger;
}

/* ---------- Raw HTTP, for what fetch and the SDK will not send ---------- */

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

/**
 * One request through node:http, which (unlike fetch) lets a test set any header, `Host` included,
 * and send any body bytes.
 */
export async function rawRequest(
  baseUrl: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const url = new URL(options.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A loopback URL where nothing listens (a port that was free a moment ago). */
export async function deadUrl(): Promise<string> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export interface HttpStub {
  url: string;
  close(): Promise<void>;
}

/**
 * A bare node:http server answering with `handler`, standing in for a server that does not exist
 * yet or for answers no real server gives (a proxy's HTML 502). Use it for SDK tests only; the
 * servers' own behaviour is tested against the real servers.
 */
export async function startHttpStub(handler: RequestListener): Promise<HttpStub> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
