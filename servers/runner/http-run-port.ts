/**
 * A runner's side of the runner routes: the executor's RunPort over HTTP, to one runtime of a list
 * (replicas behind no load balancer: the next one is tried when one does not answer). What the
 * runner holds is also written to its data dir (`claims/`), so that a restarted runner re-adopts
 * its agents, like a restarted runtime.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFetch } from '../common/node-fetch.js';
import type { Client } from 'openapi-fetch';
import { ApiError, ConnectionError } from '../../sdk/errors.js';
import { createApiClient } from '../../sdk/http.js';
import type { components, paths } from '../../sdk/generated/runtime.js';
import type { Logger } from '../common/logger.js';
import { VERSION } from '../common/version.js';
import type { ClaimedRun, EventInput, LeaseStatus, RunPort } from '../executor/run-port.js';
import { KNOWN_RUN_SPEC_VERSIONS, type RunSpec } from '../executor/run-spec.js';

export interface HttpRunPortOptions {
  /** The runtime's URLs (replicas); the first that answers is used. */
  runtimes: string[];
  runner: string;
  host: string;
  tags: string[];
  token: string | undefined;
  dataDir: string;
  logger: Logger;
  /** How long a claim waits for a run (a long poll). */
  waitSeconds?: number | undefined;
  /** What a run was billed so far and its turns, sent with its reports. */
  progressOf?: ((session: string) => RunReport['progress']) | undefined;
  /** The RunSpec versions the runner runs, sent with its claims (default: all this aof knows). */
  specVersions?: readonly number[] | undefined;
}

/** Errors worth waiting out: no runtime answered, or its database is away. */
export class RuntimeUnreachable extends Error {
  readonly unreachable = true;
}

/** Reports stay well under the runtime's 2 MB request limit and its 500 events per report. */
const REPORT_BYTES = 1_000_000;
const REPORT_EVENTS = 500;

type RunReport = components['schemas']['RunReport'];

export function httpRunPort(options: HttpRunPortOptions): RunPort & {
  readonly runtimeUrl: string;
  /**
   * The agent of the claimed run of `session` holds `credential` from now on: a warm process's own
   * (the runtime ties it to the run), or the run's own again.
   */
  useCredential(session: string, run: number, credential: string): Promise<void>;
  /**
   * Whether the runtime said, when the last run of `session` ended, that children calling it back are
   * queued or running (its resume comes soon); asked once per end. False from a runtime that does not say.
   */
  awaitsCallbacks(session: string): boolean;
} {
  const clients = options.runtimes.map((url) => ({
    url,
    client: createApiClient<paths>('Agent Runtime', url, {
      token: options.token,
      // node:http: Node's fetch costs each runner ~0.15 s of CPU at its first request.
      fetch: nodeFetch,
      parent: undefined,
      runtimeUrl: url,
      registryUrl: url,
    }),
  }));
  let current = 0;
  let leaseMs = 30_000;
  /** The claims this runner holds, by session: a credential for a run is reported under its claim. */
  const claims = new Map<string, ClaimedRun>();
  const claimsDir = join(options.dataDir, 'claims');
  /** Sessions whose run ended while children that call them back run (the runtime's answer to the end). */
  const awaiting = new Set<string>();

  /**
   * Calls the runtime that answered last, moving on to the next one when it does not answer. Each
   * call tries every runtime once, from where it began: calls failing at the same time must not move
   * one shared index back and forth so that one of them never tries the runtime that is up.
   */
  async function call<T>(work: (client: Client<paths>) => Promise<{ data?: T }>): Promise<T> {
    let lastError: unknown;
    const first = current;
    for (let tried = 0; tried < clients.length; tried++) {
      const at = (first + tried) % clients.length;
      const { url, client } = clients[at]!;
      try {
        const { data } = await work(client);
        current = at;
        return data as T;
      } catch (error) {
        if (error instanceof ConnectionError) {
          lastError = error;
          const next = (at + 1) % clients.length;
          if (clients.length > 1 && tried + 1 < clients.length)
            options.logger.warn(`runtime ${url} does not answer; trying ${clients[next]!.url}`);
          continue;
        }
        if (error instanceof ApiError && error.status === 503) throw new RuntimeUnreachable(error.message);
        throw error;
      }
    }
    throw new RuntimeUnreachable(
      `no runtime answers (${options.runtimes.join(', ')}): ${(lastError as Error)?.message ?? ''}`,
    );
  }

  const claimFile = (session: string) => join(claimsDir, `${session}.json`);
  /** Keeps the claim for a restart; without the credential (the agent has it, and it is never stored). */
  async function keep(claim: ClaimedRun): Promise<void> {
    await mkdir(claimsDir, { recursive: true, mode: 0o700 });
    const { credential, ...env } = claim.spec.env;
    const name = claim.spec.session;
    await writeFile(
      `${claimFile(name)}.tmp`,
      JSON.stringify({ spec: { ...claim.spec, env }, attempt: claim.attempt }),
      { mode: 0o600 },
    );
    await rename(`${claimFile(name)}.tmp`, claimFile(name));
  }

  /** A report on the claimed run; `from` is where its first event sits in the attempt (default: after what the runtime has). */
  async function report(
    claim: ClaimedRun,
    body: Omit<RunReport, 'runner' | 'attempt' | 'from'>,
    from = claim.reported,
  ) {
    return call((client) =>
      client.POST('/sessions/{name}/runs/{run}/report', {
        params: { path: { name: claim.spec.session, run: claim.spec.run } },
        body: { runner: options.runner, attempt: claim.attempt, from, ...body },
      }),
    );
  }

  /** Whether the runtime says the run is not (or no longer) ours. */
  const gone = (error: unknown) => error instanceof ApiError && (error.status === 404 || error.status === 409);

  return {
    runner: options.runner,
    waits: true,
    get leaseMs() {
      return leaseMs;
    },
    get runtimeUrl() {
      return clients[current]!.url;
    },
    async claim() {
      const { claim } = await call((client) =>
        client.POST('/runners/{runner}/claim', {
          params: { path: { runner: options.runner } },
          body: {
            version: VERSION,
            run_spec_versions: [...(options.specVersions ?? KNOWN_RUN_SPEC_VERSIONS)],
            tags: options.tags,
            host: options.host,
            wait_seconds: options.waitSeconds ?? 20,
          },
        }),
      );
      if (!claim) return null;
      leaseMs = claim.lease_seconds * 1000;
      awaiting.delete(claim.session);
      const claimed: ClaimedRun = { spec: claim.spec, attempt: claim.attempt, reported: 0 };
      await keep(claimed);
      claims.set(claimed.spec.session, claimed);
      options.logger.info(`claimed run ${claim.run} of session '${claim.session}' (attempt ${claim.attempt})`);
      return claimed;
    },
    async held() {
      const files = await readdir(claimsDir).catch(() => [] as string[]);
      const kept: ClaimedRun[] = [];
      for (const file of files.filter((f) => f.endsWith('.json'))) {
        try {
          const saved = JSON.parse(await readFile(join(claimsDir, file), 'utf8')) as { spec: RunSpec; attempt: number };
          if (typeof saved.spec?.session !== 'string') throw new Error('not a claim of this version');
          kept.push({ spec: saved.spec, attempt: saved.attempt, reported: 0 });
        } catch {
          await rm(join(claimsDir, file), { force: true });
        }
      }
      // Also how long the runtime's leases last, before any claim.
      const statuses = await this.heartbeat(kept);
      const held: ClaimedRun[] = [];
      for (const [i, claim] of kept.entries()) {
        if (statuses[i] === 'lost') {
          options.logger.warn(
            `session '${claim.spec.session}': the lease on run ${claim.spec.run} was lost while this runner was away`,
          );
          await rm(claimFile(claim.spec.session), { force: true });
          continue;
        }
        claim.reported = (await report(claim, { events: [] })).reported;
        held.push(claim);
        claims.set(claim.spec.session, claim);
      }
      return held;
    },
    async record(claim, events, recordOptions = {}) {
      // A retry of a partly sent batch starts from its first event again; the runtime skips what it has.
      const base = claim.reported;
      try {
        let sent = 0;
        do {
          const batch = nextBatch(events, sent);
          const first = sent === 0;
          const progress = options.progressOf?.(claim.spec.session);
          const answer = await report(
            claim,
            {
              events: batch,
              ...(recordOptions.started && first ? { started: true } : {}),
              ...(recordOptions.conversation && first
                ? { conversation: recordOptions.conversation.toString('base64') }
                : {}),
              ...(progress ? { progress } : {}),
            },
            base + sent,
          );
          sent += batch.length;
          claim.reported = answer.reported;
          if (answer.awaits_callbacks) awaiting.add(claim.spec.session);
        } while (sent < events.length);
        if (events.some((e) => e.type === 'session_stop')) {
          await rm(claimFile(claim.spec.session), { force: true });
          if (claims.get(claim.spec.session) === claim) claims.delete(claim.spec.session);
        }
        return true;
      } catch (error) {
        claim.reported = base;
        if (gone(error)) {
          await rm(claimFile(claim.spec.session), { force: true });
          return false;
        }
        throw error;
      }
    },
    async parsedEvents(claim) {
      return (await report(claim, { events: [] })).reported;
    },
    async startRetry(claim, prompt) {
      await report(claim, { events: [], retry_prompt: prompt });
    },
    async stopRequested(claim) {
      try {
        return (await report(claim, { events: [] })).stop_requested;
      } catch (error) {
        if (gone(error)) return true;
        throw error;
      }
    },
    reportsWarmPool: true,
    async heartbeat(held, warmPool): Promise<LeaseStatus[]> {
      const answer = await call((client) =>
        client.POST('/runners/{runner}/heartbeat', {
          params: { path: { runner: options.runner } },
          body: {
            leases: held.map((c) => ({ session: c.spec.session, run: c.spec.run, attempt: c.attempt })),
            ...(warmPool ? { warm_pool: warmPool } : {}),
          },
        }),
      );
      leaseMs = answer.lease_seconds * 1000;
      return answer.leases.map((l) => l.status);
    },
    async useCredential(session, run, credential) {
      const claim = claims.get(session);
      if (claim?.spec.run !== run) throw new Error(`run ${run} of session '${session}' is not this runner's`);
      await report(claim, { events: [], credential });
    },
    awaitsCallbacks(session) {
      return awaiting.delete(session);
    },
  };
}

/** The next events from `start` that fit in one report. */
function nextBatch(events: EventInput[], start: number): EventInput[] {
  const batch: EventInput[] = [];
  let bytes = 0;
  for (let i = start; i < events.length && batch.length < REPORT_EVENTS; i++) {
    const size = JSON.stringify(events[i]).length;
    if (batch.length && bytes + size > REPORT_BYTES) break;
    batch.push(events[i]!);
    bytes += size;
  }
  return batch;
}
