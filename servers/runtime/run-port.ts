/**
 * The runtime's own runner: the executor's RunPort (servers/executor/run-port.ts) onto the session
 * service and the leases in this process. Claims come with their RunSpec (run-spec.ts), as a runner's do.
 */
import { isGone, type ClaimedRun, type RunPort } from '../executor/run-port.js';
import type { RunLeases } from './run-leases.js';
import { buildRunSpec } from './run-spec.js';
import type { SessionService } from './session-service.js';
import { adopt, isHeldBy, retry } from './run-machine.js';
import { isFinal, lastRun, type StoredRun } from './session-store.js';

/** Where a run stands, as the executor needs it besides its RunSpec. */
function runState(run: StoredRun): Pick<ClaimedRun, 'running' | 'startedAt' | 'stopRequested' | 'retry'> {
  return {
    running: run.state === 'running',
    startedAt: run.started_at,
    stopRequested: run.stop_requested === true,
    retry: run.retry ? { prompt: run.retry.prompt, events_before: run.retry.events_before } : null,
  };
}

/** The runtime's own runner: the same executor, reporting to the session service in this process. */
export function localRunPort(
  sessions: SessionService,
  leases: RunLeases,
  runner: string,
  where: { runtimeUrl: () => string; tracing: boolean },
  tags: readonly string[] = [],
): RunPort {
  const leaseMs = leases.options.leaseMs;
  return {
    runner,
    waits: false,
    leaseMs,
    get runtimeUrl() {
      return where.runtimeUrl();
    },
    async claim() {
      const claim = await leases.claim({ runner, tags });
      if (!claim) return null;
      const run = lastRun(claim.session);
      const spec = buildRunSpec(claim.session, run, {
        conversation: claim.conversation,
        credential: claim.credential,
        tracing: where.tracing,
      });
      return { spec, attempt: claim.attempt, reported: 0, ...runState(run) };
    },
    async held() {
      // Runs this runner holds, and running runs of a runtime from before leases existed.
      const held: ClaimedRun[] = [];
      for (const stored of (await sessions.active()).filter((session) => isHeldBy(session, runner))) {
        const claim = await sessions.update(stored.name, (session, now) => {
          const adopted = adopt(session, runner, now, leaseMs);
          return adopted && { session, ...adopted };
        });
        if (!claim) continue;
        // Its agent has its credential already; the conversation is on this host (it ran here).
        const spec = buildRunSpec(claim.session, claim.run, { conversation: null, tracing: where.tracing });
        held.push({ spec, attempt: claim.attempt, reported: claim.reported, ...runState(claim.run) });
      }
      return held;
    },
    async record(claim, events, { conversation, ...options } = {}) {
      try {
        if (conversation) await sessions.saveConversation(claim.spec.session, conversation);
        await sessions.record(claim.spec.session, events, {
          run: claim.spec.run,
          ...options,
          lease: { runner, attempt: claim.attempt, from: claim.reported, leaseMs },
        });
        claim.reported += events.length;
        return true;
      } catch (error) {
        if (isGone(error)) return false;
        throw error;
      }
    },
    parsedEvents: (claim) => sessions.countParsedEvents(claim.spec.session, claim.spec.run),
    async startRetry(claim, prompt) {
      const events = await sessions.countParsedEvents(claim.spec.session, claim.spec.run);
      await sessions.updateRun(claim.spec.session, claim.spec.run, (run) => retry(run, prompt, events));
    },
    async stopRequested(claim) {
      const session = await sessions.getStored(claim.spec.session);
      const run = session && lastRun(session);
      return !run || run.number !== claim.spec.run || isFinal(run.state) || run.stop_requested === true;
    },
    async heartbeat(claims) {
      const answers = await leases.heartbeat(
        runner,
        claims.map((c) => ({ session: c.spec.session, run: c.spec.run, attempt: c.attempt })),
      );
      return answers.map((a) => a.status);
    },
  };
}
