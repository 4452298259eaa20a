// Several runtime processes on one PostgreSQL database, each the real `aof runtime` (dist/bin/aof.js)
// with its own data dir and `AGENT_ORCHESTRATOR_EXECUTOR=none`, so the only writer is
// `POST /sessions/{name}/events`: what the replica tests and bench/replicas.ts start.
import type { ChildProcess } from 'node:child_process';
import { Orchestrator } from '../../sdk/index.js';
import { startRuntimeProcess } from './runtime-process.js';
import { deadUrl, removeDir, tempDir } from './servers.js';

export interface Replica {
  url: string;
  child: ChildProcess;
  /** Its stderr so far, line by line. */
  log: string[];
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would, and waits for the exit (`stop` then only removes its data dir). */
  kill(): Promise<void>;
}

/** The token replicas share (the same one, as replicas behind one name must have). */
export const REPLICA_TOKEN = 'replica-token-5d2e8c';

/** Starts a runtime process on `databaseUrl` (the embedded store when undefined), with more `env`, and resolves once it listens. */
export async function startReplica(
  databaseUrl: string | undefined,
  env: Record<string, string> = {},
): Promise<Replica> {
  const dataDir = await tempDir('aof-replica-');
  const runtime = await startRuntimeProcess({
    cwd: dataDir,
    label: 'replica',
    env: {
      PATH: process.env.PATH ?? '',
      AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
      AGENT_ORCHESTRATOR_SESSION_API_URL: 'http://127.0.0.1:0',
      // No registry: sessions are made without an agent.
      AGENT_ORCHESTRATOR_AGENT_API_URL: await deadUrl(),
      AGENT_ORCHESTRATOR_EXECUTOR: 'none',
      // The tests' webhook receivers listen on loopback, which a session's webhook may reach only when listed.
      AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      AGENT_ORCHESTRATOR_API_TOKEN: REPLICA_TOKEN,
      ...(databaseUrl ? { AGENT_ORCHESTRATOR_DATABASE_URL: databaseUrl } : {}),
      ...env,
    },
  });
  return {
    url: runtime.url,
    child: runtime.child,
    log: runtime.log,
    async stop() {
      await runtime.stop();
      await removeDir(dataDir);
    },
    kill: () => runtime.kill(),
  };
}

/** A client of one replica (no parent session: tests start top-level sessions). */
export const clientOf = (replica: Replica): Orchestrator =>
  new Orchestrator({ runtimeUrl: replica.url, token: REPLICA_TOKEN, parent: null });

/** The header a raw request to a replica sends. */
export const REPLICA_AUTH = { authorization: `Bearer ${REPLICA_TOKEN}` } as const;

/** Two replicas on one database, started at once, and a client of each. */
export async function startPair(
  databaseUrl: string,
): Promise<{ a: Replica; b: Replica; viaA: Orchestrator; viaB: Orchestrator }> {
  const [a, b] = await Promise.all([startReplica(databaseUrl), startReplica(databaseUrl)]);
  return { a, b, viaA: clientOf(a), viaB: clientOf(b) };
}

/**
 * In a describe block: when a test fails, prints the last 40 lines of each replica's log (a hang or a
 * refusal shows there first). `replicas` names them as they are at that moment (a test may replace one).
 */
export function printLogsWhenATestFails(replicas: () => Record<string, Replica | undefined>): void {
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [label, replica] of Object.entries(replicas())) {
      process.stderr.write(
        `--- replica ${label} (${replica?.url}), last lines of its log:\n${replica?.log.slice(-40).join('\n')}\n`,
      );
    }
  });
}

export interface StreamedEvent {
  seq: number;
  run: number;
  type: string;
  data: Record<string, unknown>;
}

/**
 * Follows a session's raw SSE stream (`GET /sessions/{name}/events/stream`), calling `onEvent` as each
 * event comes; `close` ends it. `opened` resolves once the server answered (rejects on another status).
 */
export function followEvents(
  url: string,
  name: string,
  onEvent: (event: StreamedEvent) => void,
  headers: Record<string, string> = {},
) {
  const controller = new AbortController();
  let answered!: () => void;
  const opened = new Promise<void>((resolve) => {
    answered = resolve;
  });
  const done = (async () => {
    const response = await fetch(`${url}/sessions/${name}/events/stream`, {
      headers: { ...REPLICA_AUTH, ...headers },
      signal: controller.signal,
    });
    if (response.status !== 200)
      throw new Error(`event stream of ${name}: ${response.status} ${await response.text()}`);
    answered();
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        if (data) onEvent(JSON.parse(data) as StreamedEvent);
      }
    }
  })().catch((error: Error) => {
    if (error.name !== 'AbortError') throw error;
  });
  return {
    opened: Promise.race([
      opened,
      done.then(() => {
        throw new Error(`event stream of ${name} ended before it opened`);
      }),
    ]),
    /** Resolves when the server ended the stream (or `close` did). */
    done,
    close: async () => {
      controller.abort();
      await done;
    },
  };
}
