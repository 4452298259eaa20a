import type { operations } from '../../sdk/generated/runtime.js';
import type { Handlers } from '../common/operations.js';
import type { RunLeases } from './run-leases.js';

type RunnerOperations = Pick<operations, 'claimRun' | 'heartbeatRunner' | 'reportRun'>;

/** The routes runners use (`aof runner`): claims, heartbeats, reports. */
export function runnerHandlers(leases: RunLeases): Handlers<RunnerOperations> {
  return {
    claimRun: async ({ path, body, ctx }) => {
      const offer = { runner: path.runner, host: body.host, tags: body.tags ?? [] };
      // A runner that went away while waiting must not be given a run nobody will start.
      const gone = new AbortController();
      ctx.res.once('close', () => gone.abort());
      const claim = await leases.claimWaiting(offer, (body.wait_seconds ?? 0) * 1000, body.version, gone.signal);
      return {
        status: 200,
        body: {
          claim: claim && {
            session: claim.session.name,
            run: claim.session.runs[claim.session.runs.length - 1]!.number,
            attempt: claim.attempt,
            lease_seconds: leases.leaseSeconds,
            spec: claim.session as unknown as Record<string, unknown>,
            conversation: claim.conversation?.toString('base64') ?? null,
            credential: claim.credential,
          },
        },
      };
    },
    heartbeatRunner: async ({ path, body }) => ({
      status: 200,
      body: { lease_seconds: leases.leaseSeconds, leases: await leases.heartbeat(path.runner, body.leases) },
    }),
    reportRun: async ({ path, body }) => ({ status: 200, body: await leases.report(path.name, path.run, body) }),
  };
}
