/**
 * Runners and their leases, on the runtime's side: claims (one queued run at a time, under the
 * global cap), heartbeats, the runner's reports, and the sweeper that ends the runs of runners that
 * stopped answering. The rules are in leases.ts; this module applies them to the stored sessions.
 */
import { Pump } from './pump.js';
import { conflict, HttpProblem } from '../common/contract/problem.js';
import type { Logger } from '../common/logger.js';
import { checkHolds, isExpired, runnerLostReason, type LeaseStatus, type RunnerOffer } from './leases.js';
import { credentialFor, newSecret } from './agent-credentials.js';
import { heartbeat, retry, stopEvent } from './run-machine.js';
import type { SessionService } from './session-service.js';
import type { WarmResumes } from './warm-resumes.js';
import { isFinal, lastRun, type EventInput, type StoredRun, type StoredSession, type Usage } from './session-store.js';

/** What watches the runs of runners elsewhere as they go (the limit guard). */
export interface RunWatch {
  /** A run of `session` (as its start left it) started; resolves to a function to call once it has ended. */
  started(session: StoredSession, run: StoredRun): Promise<() => void>;
  progressed(name: string, usage: Usage | null, turns: number): void;
}

export interface RunLeaseOptions {
  /** Runs in flight at once on every process of this runtime (AGENT_ORCHESTRATOR_MAX_CONCURRENT). */
  maxConcurrent: number;
  leaseMs: number;
  logger: Logger;
  watch?: RunWatch | undefined;
  /** Resumes that runners started ahead: the other runners leave them to them for a moment. */
  warmResumes?: WarmResumes | undefined;
}

export interface Claim {
  session: StoredSession;
  attempt: number;
  /** The conversation its run continues, as saved (gzip): the session's own, or a fork's source's. */
  conversation: Buffer | null;
  /** The run's own credential, for its agent; only its hash is kept (agent-credentials.ts). */
  credential: string;
}

export interface LeaseRef {
  session: string;
  run: number;
  attempt: number;
}

export interface RunReport {
  runner: string;
  attempt: number;
  from: number;
  events: EventInput[];
  started?: boolean | undefined;
  retry_prompt?: string | undefined;
  /** The conversation after the run (gzip, base64). */
  conversation?: string | undefined;
  progress?: { usage?: Usage | undefined; turns: number } | undefined;
}

export class RunLeases {
  private claiming: Promise<unknown> = Promise.resolve();
  /** Looks for expired leases, one look at a time. */
  private readonly sweeper = new Pump(
    () => this.sweep().then(() => undefined),
    (error) => {
      if (error instanceof HttpProblem && error.status === 503) this.since = Date.now();
      this.options.logger.warn(`could not look for lost runners: ${(error as Error).message}`);
    },
  );
  /**
   * Leases are judged from this moment at the earliest: runners get one lease to find a restarted
   * runtime, or to beat again once the database is back after an outage (their heartbeats failed meanwhile).
   */
  private since = Date.now();
  /** The runs of runners elsewhere that the watch follows, and how to tell it they ended. */
  private readonly watched = new Map<string, Promise<() => void>>();

  constructor(
    private readonly sessions: SessionService,
    readonly options: RunLeaseOptions,
  ) {}

  get leaseSeconds(): number {
    return Math.max(1, Math.round(this.options.leaseMs / 1000));
  }

  /** The next queued run `offer` may start, leased to it, or null when there is none (or the cap is reached). */
  claim(offer: RunnerOffer): Promise<Claim | null> {
    // One at a time in this process, so that the cap holds among them (the store's claim is one write).
    const next = this.claiming.then(() => this.claimNow(offer));
    this.claiming = next.catch(() => undefined);
    return next;
  }

  /** Like claim, waiting up to `waitMs` for a run to be queued (a runner's long poll). */
  async claimWaiting(offer: RunnerOffer, waitMs: number, signal?: AbortSignal): Promise<Claim | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (signal?.aborted) return null;
      const claim = await this.claim(offer);
      if (claim || Date.now() >= deadline) return claim;
      // Woken when a run is queued here; polled for runs queued through other processes.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(1000, deadline - Date.now()));
        const off = this.sessions.onQueued(done);
        signal?.addEventListener('abort', done);
        function done() {
          clearTimeout(timer);
          off();
          signal?.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  }

  /**
   * The only sessions whose queued runs may be claimed now, or undefined for any: while a usage limit
   * holds an account, the others' (usage-limit-waiter.ts).
   */
  private claimable: () => Promise<readonly string[] | undefined> = async () => undefined;

  useHolds(claimable: () => Promise<readonly string[] | undefined>): void {
    this.claimable = claimable;
  }

  private async claimNow(offer: RunnerOffer): Promise<Claim | null> {
    const secret = newSecret();
    const claimed = await this.sessions.claim({
      offer,
      leaseMs: this.options.leaseMs,
      maxInFlight: this.options.maxConcurrent,
      secret,
      only: await this.claimable(),
      except: await this.options.warmResumes?.heldFrom(offer.runner, Date.now()),
    });
    if (!claimed) return null;
    this.options.warmResumes?.claimed(claimed.session);
    const session = claimed.stored;
    return {
      session,
      attempt: claimed.attempt,
      credential: credentialFor(claimed.session, claimed.run, secret),
      conversation: await this.conversationFor(session),
    };
  }

  /** What a runner on another host needs to continue the conversation: the session's, or its fork source's. */
  private async conversationFor(session: StoredSession): Promise<Buffer | null> {
    if (session.conversation_started) return this.sessions.loadConversation(session.name);
    if (session.forked_from) return this.sessions.loadConversation(session.forked_from.session);
    return null;
  }

  /** Extends the leases `runner` still holds; says of each whether it is held, to stop, or lost. */
  async heartbeat(runner: string, leases: readonly LeaseRef[]): Promise<Array<LeaseRef & { status: LeaseStatus }>> {
    return Promise.all(
      leases.map(async (ref) => {
        let status: LeaseStatus = 'lost';
        await this.sessions.update(ref.session, (session, now) => {
          status = heartbeat(session, ref.run, runner, ref.attempt, now, this.options.leaseMs);
          return status === 'lost' ? null : true;
        });
        return { ...ref, status };
      }),
    );
  }

  /** Records a runner's report on its run; answers what the runtime has of the attempt now. */
  /**
   * The agent of run `runNumber` of `name` holds another credential from now on (a warm process's, or
   * its own again): its hash replaces the run's. Only from the runner holding the lease.
   */
  async useCredential(name: string, runNumber: number, runner: string, attempt: number, hash: string): Promise<void> {
    const found = await this.sessions.update(name, (session) => {
      const run = session.runs.find((r) => r.number === runNumber) ?? lastRun(session);
      checkHolds(session, run, runner, attempt);
      run.credential_hash = hash;
      return true;
    });
    if (!found) throw new HttpProblem(404, `No session '${name}'`, { code: 'session-not-found' });
  }

  async report(
    name: string,
    runNumber: number,
    report: RunReport,
  ): Promise<{ reported: number; stop_requested: boolean; awaits_callbacks?: boolean }> {
    const lease = { runner: report.runner, attempt: report.attempt, from: report.from, leaseMs: this.options.leaseMs };
    if (report.retry_prompt !== undefined) {
      // The answer broke the output schema: the runner asks once more, in the same run.
      const parsed = await this.sessions.countParsedEvents(name, runNumber);
      await this.sessions.update(name, (session) => {
        const run = session.runs.find((r) => r.number === runNumber) ?? lastRun(session);
        checkHolds(session, run, report.runner, report.attempt);
        retry(run, report.retry_prompt!, parsed);
        return true;
      });
    }
    if (report.conversation !== undefined) {
      // Kept before the end is recorded, so a resume queued right after the end finds it; only from the lease holder.
      await this.sessions.update(name, (session) => {
        checkHolds(
          session,
          session.runs.find((r) => r.number === runNumber) ?? lastRun(session),
          report.runner,
          report.attempt,
        );
        return null;
      });
      await this.sessions.saveConversation(name, Buffer.from(report.conversation, 'base64'));
    }
    const ending = report.events.some((e) => e.type === 'session_stop');
    const { session } = await this.sessions.recordKept(name, report.events, {
      run: runNumber,
      lease,
      ...(report.started ? { started: true } : {}),
      ...(ending ? { force: true } : {}),
    });
    const run = session.runs.find((r) => r.number === runNumber);
    if (!run) throw conflict(`Session '${name}' has no run ${runNumber}`, 'run-not-last');
    await this.watchRun(session, run, report.progress);
    // Said to the runner that ran it, which starts the resume ahead (no more than that about the children).
    const awaits = ending && isFinal(run.state) ? await this.sessions.awaitsCallbacks(name) : undefined;
    if (awaits) this.options.warmResumes?.noteEnded(name, report.runner, runNumber, Date.now());
    return {
      reported: run.lease?.runner === report.runner ? run.lease.reported : 0,
      stop_requested: run.stop_requested === true,
      ...(awaits !== undefined ? { awaits_callbacks: awaits } : {}),
    };
  }

  /**
   * Lets the watch (the limit guard) follow a runner's run: from the first report this process sees
   * of it (its start, or any report after a failover from another process) to its end.
   */
  private async watchRun(session: StoredSession, run: StoredRun, progress: RunReport['progress']): Promise<void> {
    const { watch } = this.options;
    if (!watch) return;
    const { name } = session;
    const key = `${name}\u0000${run.number}`;
    if (isFinal(run.state)) {
      this.unwatch(name, run.number);
      return;
    }
    if (run.state !== 'running') return;
    if (!this.watched.has(key)) this.watched.set(key, watch.started(session, run));
    if (progress) watch.progressed(name, progress.usage ?? null, progress.turns);
  }

  private unwatch(name: string, runNumber: number): void {
    const key = `${name}\u0000${runNumber}`;
    void this.watched.get(key)?.then((ended) => ended());
    this.watched.delete(key);
  }

  /** Looks for expired leases every third of a lease. */
  startSweeping(): void {
    this.sweeper.every(Math.max(200, Math.floor(this.options.leaseMs / 3)));
  }

  /** Stops sweeping; resolves once a sweep in flight has ended. */
  stop(): Promise<void> {
    return this.sweeper.close();
  }

  /**
   * Ends the running runs whose runner stopped answering: `failed`, "runner lost". A claimed run that
   * never started needs nothing: once its lease has expired, it is claimable again.
   */
  async sweep(at?: number): Promise<string[]> {
    if (Date.now() < this.since + this.options.leaseMs) return [];
    const now = at ?? (await this.sessions.clock());
    const lost: string[] = [];
    for (const session of await this.sessions.active()) {
      const run = lastRun(session);
      if (run.state !== 'running' || !isExpired(run, now)) continue;
      const lease = run.lease!;
      try {
        // Fenced by the lease: if the runner reported meanwhile (its lease was extended), nothing happens.
        const recorded = await this.sessions.record(session.name, [stopEvent(runnerLostReason(lease))], {
          run: run.number,
          force: true,
          expired: { runner: lease.runner, attempt: lease.attempt, before: new Date(now).toISOString() },
        });
        if (recorded.length) {
          this.unwatch(session.name, run.number);
          lost.push(session.name);
          this.options.logger.warn(`session '${session.name}': ${runnerLostReason(lease)}`, {
            session: session.name,
            run: run.number,
          });
        }
      } catch (error) {
        if (!(error instanceof HttpProblem && error.status < 500)) throw error;
      }
    }
    if (lost.length) this.sessions.wake();
    return lost;
  }
}
