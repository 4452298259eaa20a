/**
 * The SDK's SSE client against a stub HTTP server that speaks the contract's stream format and can
 * misbehave on cue (drop connections, split messages, ignore Last-Event-ID). The real runtime's
 * streams are tested with the runtime; this pins down the client's own logic.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConnectionError, NotFoundError, Orchestrator, type SessionEvent } from '../../sdk/index.js';
import { startHttpStub, type HttpStub } from '../support/servers.js';

interface Connection {
  url: URL;
  lastEventId: string | undefined;
  closed: Promise<void>;
}

interface StreamScript {
  /** The stored events, seq 1..n. */
  events: number;
  /** Close the connection after sending this many events on it (default: keep it open). */
  dropAfter?: number;
  /** Replay from Last-Event-ID minus this (a buggy server that repeats events). */
  overlap?: number;
  /** Send each message one byte at a time. */
  trickle?: boolean;
  /** On reconnects, send only a keep-alive comment and drop. */
  dropReconnects?: boolean;
}

function sessionEvent(seq: number): SessionEvent {
  return {
    seq,
    session: 'demo',
    run: 1,
    type: 'message',
    at: new Date(0).toISOString(),
    data: { role: 'assistant', text: `héllo ✓ ${seq}` },
  };
}

function sse(id: number | undefined, event: string, data: unknown): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

async function write(res: ServerResponse, text: string, trickle: boolean): Promise<void> {
  // Each write is flushed before the next step, so a drop that follows loses nothing already sent.
  const chunks = trickle ? [...Buffer.from(text)].map((byte) => Buffer.from([byte])) : [Buffer.from(text)];
  for (const chunk of chunks) {
    if (res.destroyed) return;
    await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
  }
}

/** A runtime stub serving /sessions/demo/events/stream as `script` says, and /events/stream from `changes`. */
async function startStreamStub(script: StreamScript, changes: string[] = []) {
  const connections: Connection[] = [];
  const stub = await startHttpStub(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    connections.push({ url, lastEventId, closed });
    if (url.pathname === '/events/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const text of changes) res.write(text);
      return;
    }
    if (url.pathname !== '/sessions/demo/events/stream') {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          type: 'urn:aof:problem:not-found',
          title: 'Not found',
          status: 404,
          detail: `Session '${url.pathname.split('/')[2]}' not found`,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    await write(res, 'retry: 20\n: replaying\n\n', false);
    if (script.dropReconnects && lastEventId !== undefined) {
      res.socket?.destroy();
      return;
    }
    const start =
      lastEventId !== undefined
        ? Math.max(0, Number(lastEventId) - (script.overlap ?? 0))
        : Number(url.searchParams.get('after') ?? 0);
    let sent = 0;
    for (let seq = start + 1; seq <= script.events; seq++) {
      if (res.destroyed) return;
      await write(res, sse(seq, 'message', sessionEvent(seq)), script.trickle ?? false);
      if (script.dropAfter !== undefined && ++sent >= script.dropAfter) {
        res.socket?.destroy();
        return;
      }
    }
  });
  return { ...stub, connections };
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  ]);

async function collect(stream: AsyncIterable<SessionEvent>, untilSeq: number): Promise<number[]> {
  const seqs: number[] = [];
  for await (const event of stream) {
    seqs.push(event.seq);
    if (event.seq >= untilSeq) break;
  }
  return seqs;
}

describe('sdk: event streams', () => {
  let stub: (HttpStub & { connections: Connection[] }) | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });
  const client = () => new Orchestrator({ runtimeUrl: stub!.url, token: null });

  describe('sessions.events()', () => {
    it('yields the events as typed objects, in order, after `after`', async () => {
      stub = await startStreamStub({ events: 5 });
      const events: SessionEvent[] = [];
      for await (const event of client().sessions.events('demo', { after: 2 })) {
        events.push(event);
        if (event.seq === 5) break;
      }
      assert.deepEqual(events, [3, 4, 5].map(sessionEvent));
      const first = events[0]!;
      // The union narrows on `type`: data.text only exists on messages.
      assert.equal(first.type === 'message' ? first.data.text : undefined, 'héllo ✓ 3');
      assert.equal(stub.connections.length, 1);
      assert.equal(stub.connections[0]!.url.searchParams.get('after'), '2');
      assert.equal(stub.connections[0]!.lastEventId, undefined);
    });

    it('parses messages split at any byte, multi-byte characters included', async () => {
      stub = await startStreamStub({ events: 3, trickle: true });
      const events: SessionEvent[] = [];
      for await (const event of client().sessions.events('demo')) {
        events.push(event);
        if (event.seq === 3) break;
      }
      assert.deepEqual(events, [1, 2, 3].map(sessionEvent));
    });

    it('closes the HTTP request on break', async () => {
      stub = await startStreamStub({ events: 10 });
      assert.deepEqual(await collect(client().sessions.events('demo'), 1), [1]);
      await within(stub.connections[0]!.closed, 2000, 'the server saw the request close');
    });

    it('resumes after a dropped connection with Last-Event-ID: nothing lost, nothing twice', async () => {
      stub = await startStreamStub({ events: 7, dropAfter: 2 });
      assert.deepEqual(await collect(client().sessions.events('demo'), 7), [1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(
        stub.connections.map((c) => c.lastEventId),
        [undefined, '2', '4', '6'],
      );
    });

    it('skips events a server repeats after a reconnect', async () => {
      stub = await startStreamStub({ events: 6, dropAfter: 3, overlap: 2 });
      assert.deepEqual(await collect(client().sessions.events('demo', { after: 0 }), 6), [1, 2, 3, 4, 5, 6]);
      assert.ok(stub.connections.length >= 3);
    });

    it('gives up with a ConnectionError after bounded retries when the server is gone', async () => {
      stub = await startStreamStub({ events: 5 });
      const seen: number[] = [];
      const started = Date.now();
      await assert.rejects(
        (async () => {
          for await (const event of client().sessions.events('demo', { maxRetries: 2 })) {
            seen.push(event.seq);
            if (event.seq === 5) await stub!.close(); // the server goes away mid-stream
          }
        })(),
        (error: unknown) => {
          assert.ok(error instanceof ConnectionError, String(error));
          assert.equal(error.service, 'Agent Runtime');
          assert.equal(error.code, 'ECONNREFUSED');
          return true;
        },
      );
      assert.deepEqual(seen, [1, 2, 3, 4, 5]);
      assert.ok(Date.now() - started < 5000);
    });

    it('gives up when every reconnect drops before delivering anything', async () => {
      stub = await startStreamStub({ events: 5, dropAfter: 2, dropReconnects: true });
      const seen: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const event of client().sessions.events('demo', { maxRetries: 3 })) seen.push(event.seq);
        })(),
        (error: unknown) =>
          error instanceof ConnectionError && /could not resume it after 3 attempts/.test(error.message),
      );
      assert.deepEqual(seen, [1, 2]);
      assert.deepEqual(
        stub.connections.map((c) => c.lastEventId),
        [undefined, '2', '2', '2'],
      );
    });

    it('throws an HTTP error at once, without retrying', async () => {
      stub = await startStreamStub({ events: 1 });
      await assert.rejects(collect(client().sessions.events('missing'), 1), (error: unknown) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(error.message, "Session 'missing' not found");
        return true;
      });
      assert.equal(stub.connections.length, 1);
    });

    it('ends with the signal reason when the caller aborts, and closes the request', async () => {
      stub = await startStreamStub({ events: 2 });
      const controller = new AbortController();
      const seen: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const event of client().sessions.events('demo', { signal: controller.signal })) {
            seen.push(event.seq);
            if (event.seq === 2) setTimeout(() => controller.abort(), 20); // while waiting for a third
          }
        })(),
        (error: unknown) => (error as Error).name === 'AbortError',
      );
      assert.deepEqual(seen, [1, 2]);
      await within(stub.connections[0]!.closed, 2000, 'the server saw the request close');
    });

    it('ends quietly on abort()', async () => {
      stub = await startStreamStub({ events: 2 });
      const stream = client().sessions.events('demo');
      const seen: number[] = [];
      for await (const event of stream) {
        seen.push(event.seq);
        if (event.seq === 2) setTimeout(() => stream.abort(), 20);
      }
      assert.deepEqual(seen, [1, 2]);
      await within(stub.connections[0]!.closed, 2000, 'the server saw the request close');
      assert.throws(() => stream[Symbol.asyncIterator](), /only once/);
    });

    it('does not connect for a signal that is already aborted', async () => {
      stub = await startStreamStub({ events: 2 });
      await assert.rejects(collect(client().sessions.events('demo', { signal: AbortSignal.abort() }), 2), {
        name: 'AbortError',
      });
      assert.equal(stub.connections.length, 0);
    });
  });

  describe('sessions.changes()', () => {
    const change = (name: string, state: string) => ({
      name,
      change: 'state',
      state,
      run: 1,
      at: new Date(0).toISOString(),
    });

    it('yields session changes and skips other message types', async () => {
      stub = await startStreamStub({ events: 0 }, [
        ': hello\n\n',
        sse(undefined, 'session', change('a', 'running')),
        sse(undefined, 'other', { ignored: true }),
        sse(undefined, 'session', change('a', 'finished')),
      ]);
      const seen: unknown[] = [];
      for await (const c of client().sessions.changes()) {
        seen.push(c);
        if (seen.length === 2) break;
      }
      assert.deepEqual(seen, [change('a', 'running'), change('a', 'finished')]);
      await within(stub.connections[0]!.closed, 2000, 'the server saw the request close');
    });

    it('ends with a ConnectionError when the connection drops (changes cannot be replayed)', async () => {
      stub = await startStreamStub({ events: 0 }, [sse(undefined, 'session', change('a', 'running'))]);
      const seen: unknown[] = [];
      await assert.rejects(
        (async () => {
          for await (const c of client().sessions.changes()) {
            seen.push(c);
            await stub!.close();
          }
        })(),
        (error: unknown) =>
          error instanceof ConnectionError && /Lost the event stream from Agent Runtime/.test(error.message),
      );
      assert.equal(seen.length, 1);
      assert.equal(stub.connections.length, 1);
    });
  });
});
