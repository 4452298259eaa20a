// Follows a session's event stream over raw SSE (fetch + eventsource-parser), with the Last-Event-ID
// the test gives, so a test can move a client from one runtime replica to another and check exactly
// what it received on each (the SDK's own reconnects would hide that).
import { createParser } from 'eventsource-parser';

export interface FollowedEvent {
  /** The SSE `id:` line. */
  id: number;
  seq: number;
  run: number;
  type: string;
}

export interface Follow {
  /** The events received so far, in order. */
  events: FollowedEvent[];
  /** true once `until` matched an event; false when the connection ended or failed before. */
  done: Promise<boolean>;
  close(): void;
}

export interface FollowOptions {
  token?: string | undefined;
  /** Sent as Last-Event-ID: the stream starts after this seq. */
  lastEventId?: number;
  /** The event after which the follow is done (e.g. the session_stop of a run). */
  until: (event: FollowedEvent) => boolean;
}

export function followSession(baseUrl: string, name: string, options: FollowOptions): Follow {
  const controller = new AbortController();
  const events: FollowedEvent[] = [];
  const done = (async () => {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
    let matched = false;
    const parser = createParser({
      onEvent(message) {
        if (matched) return;
        const data = JSON.parse(message.data) as { seq: number; run: number; type: string };
        const event = { id: Number(message.id), seq: data.seq, run: data.run, type: data.type };
        events.push(event);
        if (options.until(event)) {
          matched = true;
          controller.abort();
        }
      },
    });
    try {
      const response = await fetch(`${baseUrl}/sessions/${encodeURIComponent(name)}/events/stream`, { headers, signal: controller.signal });
      if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
      const decoder = new TextDecoder();
      for await (const chunk of response.body!) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (error) {
      if (!matched && !controller.signal.aborted && process.env.AOF_TEST_LOGS) process.stderr.write(`[sse ${name}] ${String(error)}\n`);
    }
    return matched;
  })();
  return { events, done, close: () => controller.abort() };
}
