import type { operations } from '../../sdk/generated/runtime.js';
import { credentialHash, parseCredential, warmSlotOf } from '../common/agent/agent-credential.js';
import { HttpProblem, unprocessable } from '../common/contract/problem.js';
import type { Handlers } from '../common/http/operations.js';
import { VERSION } from '../common/http/server.js';
import { RUN_SPEC_VERSION } from '../executor/run-spec.js';
import type { RunLeases } from './run-leases.js';
import { buildRunSpec } from './run-spec.js';
import { lastRun } from './session-store.js';
import type { RunnerPools } from './runner-pools.js';
import type { WarmCredentials } from './warm-credentials.js';

type RunnerOperations = Pick<operations, 'claimRun' | 'heartbeatRunner' | 'reportRun'>;

/**
 * Refuses (409) a runner that could not run the RunSpecs this runtime writes: one that names the
 * RunSpec versions it knows without this one, or, naming none (from before RunSpecs), is another aof version.
 */
export function checkRunner(
  runner: string,
  claim: { version: string; run_spec_versions?: number[] | undefined },
): void {
  const known = claim.run_spec_versions;
  if (known === undefined) {
    if (claim.version === VERSION) return;
    throw new HttpProblem(
      409,
      `Runner '${runner}' is aof ${claim.version}, from before RunSpecs; this runtime is ${VERSION}: upgrade the runner`,
      { code: 'runner-version' },
    );
  }
  if (known.includes(RUN_SPEC_VERSION)) return;
  throw new HttpProblem(
    409,
    `Runner '${runner}' (aof ${claim.version}) runs RunSpec version ${known.join(', ')}; this runtime (aof ${VERSION}) writes version ${RUN_SPEC_VERSION}: run an aof on the runner that knows it`,
    { code: 'run-spec-version' },
  );
}

/** The routes runners use (`aof runner`): claims, heartbeats, reports. */
export function runnerHandlers(
  leases: RunLeases,
  options: { tracing: boolean; warm: WarmCredentials; pools: RunnerPools },
): Handlers<RunnerOperations> {
  return {
    claimRun: async ({ path, body, ctx }) => {
      checkRunner(path.runner, body);
      const offer = { runner: path.runner, host: body.host, tags: body.tags ?? [] };
      // A runner that went away while waiting must not be given a run nobody will start.
      // A killed runner's connection only half-closes here (the servers keep half-open connections, so
      // that a client that ends its side after its body still gets its answer): its end of the socket says
      // it, and a waiting claim ends then with none.
      const gone = new AbortController();
      const abort = () => gone.abort();
      const socket = ctx.req.socket;
      ctx.res.once('close', abort);
      socket.once('end', abort);
      let claim: Awaited<ReturnType<typeof leases.claimWaiting>>;
      try {
        claim = await leases.claimWaiting(offer, (body.wait_seconds ?? 0) * 1000, gone.signal);
      } finally {
        // Once answered, the response's close is no runner going away (an abort would cost an exception's stack).
        ctx.res.off('close', abort);
        socket.off('end', abort);
      }
      if (!claim) return { status: 200, body: { claim: null } };
      const run = lastRun(claim.session);
      const spec = buildRunSpec(claim.session, run, {
        conversation: claim.conversation,
        credential: claim.credential,
        tracing: options.tracing,
      });
      return {
        status: 200,
        body: {
          claim: {
            session: spec.session,
            run: spec.run,
            attempt: claim.attempt,
            lease_seconds: leases.leaseSeconds,
            spec,
          },
        },
      };
    },
    heartbeatRunner: async ({ path, body }) => {
      if (body.warm_pool) options.pools.heard(path.runner, body.warm_pool, Date.now());
      return {
        status: 200,
        body: { lease_seconds: leases.leaseSeconds, leases: await leases.heartbeat(path.runner, body.leases) },
      };
    },
    reportRun: async ({ path, body }) => {
      const { credential, ...report } = body;
      if (credential !== undefined) {
        // A warm process's own credential (the runner minted it before the run existed), or the run's own again.
        const claimed = parseCredential(credential);
        const own = claimed?.session === path.name && claimed.run === path.run;
        if (!own && !warmSlotOf(credential))
          throw unprocessable('body.credential', "is neither a warm process's credential nor this run's own");
        await leases.useCredential(path.name, path.run, body.runner, body.attempt, credentialHash(credential));
        if (!own) await options.warm.bind(path.name, path.run, credential, async () => undefined);
      }
      return { status: 200, body: await leases.report(path.name, path.run, report) };
    },
  };
}
