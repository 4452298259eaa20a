import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { StreamResult } from './operations.js';

export const SSE_PING_MS = 15_000;

export interface SseChannel {
  send(message: { id?: number | string; event?: string; data: unknown }): void;
  /** Called once when the client goes away or the server ends the stream. */
  onClose(listener: () => void): void;
  end(): void;
}

/**
 * Opens a Server-Sent Events response: no buffering by proxies, no socket timeout, a comment line
 * every 15 s so idle connections stay up, and clean-up when the client disconnects.
 */
export function openSse(ctx: Context): { channel: SseChannel; result: StreamResult } {
  const stream = new PassThrough();
  const closeListeners: Array<() => void> = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(ping);
    for (const listener of closeListeners) listener();
    stream.end();
  };
  const ping = setInterval(() => stream.write(': ping\n\n'), SSE_PING_MS);
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.req.on('close', close);
  stream.on('error', close);
  // An initial comment makes proxies and clients see the stream as open at once.
  stream.write(': connected\n\n');
  const channel: SseChannel = {
    send({ id, event, data }) {
      if (closed) return;
      let text = '';
      if (id !== undefined) text += `id: ${id}\n`;
      if (event) text += `event: ${event}\n`;
      text += `data: ${JSON.stringify(data)}\n\n`;
      stream.write(text);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    end: close,
  };
  return {
    channel,
    result: {
      status: 200,
      stream,
      contentType: 'text/event-stream',
      headers: { 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' },
    },
  };
}
