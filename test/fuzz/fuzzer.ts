import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { claudeBin, claudeChildEnv } from '../support/claude-env.js';
import { startFakeModel, type FakeModel } from '../support/fake-model.js';
import { removeDir, tempDir } from '../support/servers.js';
import type { Pools } from './arbitraries.js';
import { contractOperations, type FuzzOperation } from './contract-operations.js';
import { dumpServers, Ledger, type Dump } from './ledger.js';
import { checkResponse } from './oracle.js';
import {
  buildRequest,
  outsiderRequest,
  burstRequest,
  mutatedInput,
  mutatedTransport,
  rawRequest,
  validRequest,
  type FuzzRequest,
} from './requests.js';
import { send, type FuzzResponse } from './sender.js';
import { ServerProcess } from './server-process.js';
import { VERSION } from '../../servers/common/version.js';

export interface FuzzOptions {
  seed: number;
  /** How many requests to plan (concurrent duplicates add a few). */
  runs: number;
  /** `none`: runs stay queued, so thousands of sessions cost nothing; `local`: real Claude Code against the fake model. */
  executor: 'none' | 'local';
  /** Called every 1000 requests, for progress output. */
  progress?: (sent: number) => void;
}

export interface FuzzReport {
  seed: number;
  executor: 'none' | 'local';
  requests: number;
  acknowledged: number;
  byOperation: Record<string, Record<string, number>>;
  byStatus: Record<string, number>;
  byMutation: Record<string, number>;
  unsendable: number;
  /** Each violation once, with the first request that showed it. */
  failures: string[];
  /** The servers' error log lines (first few), which explain a 5xx. */
  serverErrors: string[];
  ms: number;
}

const TOKEN = 'fuzz-token-0123456789';

/** How often each operation is aimed at, relative to 10: writes that build state come more often. */
const WEIGHTS: Record<string, number> = {
  createSession: 30,
  createAgent: 15,
  appendSessionEvents: 25,
  resumeSession: 12,
  stopSession: 12,
  updateAgent: 12,
  deleteAllSessions: 1,
  streamSessionEvents: 5,
  streamSessionChanges: 3,
  getHealth: 3,
};

/** Operations the local executor sample aims at: the ones that race agents' processes. */
const LOCAL_OPERATIONS = new Set([
  'createSession',
  'resumeSession',
  'stopSession',
  'deleteSession',
  'getSession',
  'getSessionStatus',
  'getSessionResult',
  'listSessionEvents',
  'streamSessionEvents',
  'listSessions',
  'deleteAllSessions',
  'createAgent',
  'setAgentStatus',
]);

export function fuzzPools(projectDirs: string[], executor: 'none' | 'local'): Pools {
  const count = executor === 'local' ? 8 : 20;
  return {
    sessionNames: Array.from({ length: count }, (_, i) => `fz-s${i}`),
    agentNames: Array.from({ length: executor === 'local' ? 2 : 12 }, (_, i) => `fz-a${i}`),
    projectDirs,
  };
}

/** Every operation (but creation) a few times, valid, with the credential of an agent of an unrelated tree. */
export function outsiderPlan(seed: number, pools: Pools, executor: 'none' | 'local'): FuzzRequest[] {
  return contractOperations()
    .filter((op) => executor === 'none' || LOCAL_OPERATIONS.has(op.operationId))
    .filter((op) => op.operationId !== 'createSession')
    .flatMap((op) => fc.sample(outsiderRequest(op, pools), { seed, numRuns: 4 }))
    .map((request) => ({ ...request, repeat: 1 }));
}

/** The planned requests: the same for the same seed, runs and pools. */
export function fuzzPlan(seed: number, runs: number, pools: Pools, executor: 'none' | 'local'): FuzzRequest[] {
  const operations = contractOperations().filter((op) => executor === 'none' || LOCAL_OPERATIONS.has(op.operationId));
  const pick = (make: (op: FuzzOperation) => fc.Arbitrary<FuzzRequest>) =>
    fc.oneof(...operations.map((op) => ({ weight: WEIGHTS[op.operationId] ?? 10, arbitrary: make(op) })));
  const step = fc.oneof(
    { weight: 45, arbitrary: pick((op) => validRequest(op, pools)) },
    { weight: 33, arbitrary: pick((op) => mutatedInput(op, pools)) },
    { weight: 17, arbitrary: pick((op) => mutatedTransport(op, pools)) },
    // An agent of another tree: its creates would make sessions of its own (the ledger expects the person's).
    {
      weight: 8,
      arbitrary: fc.oneof(
        ...operations
          .filter((op) => op.operationId !== 'createSession')
          .map((op) => ({ weight: 1, arbitrary: outsiderRequest(op, pools) })),
      ),
    },
    { weight: 5, arbitrary: fc.constantFrom<'runtime' | 'registry'>('runtime', 'registry').chain(rawRequest) },
    { weight: executor === 'local' ? 10 : 3, arbitrary: burstRequest('runtime', operations, pools) },
    { weight: executor === 'local' ? 1 : 2, arbitrary: burstRequest('registry', operations, pools) },
  );
  const repeat = fc.oneof(
    { weight: 94, arbitrary: fc.constant(1) },
    { weight: 6, arbitrary: fc.integer({ min: 2, max: 4 }) },
  );
  return [
    ...poolAgents(pools, operations),
    ...fc.sample(
      fc.tuple(step, repeat).map(([request, times]) => ({ ...request, repeat: times })),
      { seed, numRuns: runs },
    ),
  ];
}

/**
 * First, every blueprint of the pool, made valid: a session's `agent` names one of them, and a
 * creation that names no blueprint that exists is refused (422) before it reaches anything worth
 * checking. (The plan still deletes, deactivates and recreates them as it goes.)
 */
function poolAgents(pools: Pools, operations: FuzzOperation[]): FuzzRequest[] {
  const create = operations.find((op) => op.operationId === 'createAgent');
  if (!create) return [];
  return pools.agentNames.map((name) =>
    buildRequest(create, { path: {}, query: {}, header: {}, body: { name, description: `fuzz blueprint ${name}` } }),
  );
}

/**
 * Runs the plan against both servers in a child process, checks every answer, then restarts the
 * servers twice (a crash, then a clean stop) and checks that everything acknowledged is still there.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const root = await tempDir('aof-fuzz-');
  const dirs = ['data', 'registry-data', 'project', 'project-2', 'claude-config'];
  await Promise.all(dirs.map((dir) => mkdir(join(root, dir))));
  let fake: FakeModel | undefined;
  if (options.executor === 'local') fake = await startFakeModel();
  const servers = new ServerProcess({
    dataDir: join(root, 'data'),
    registryDataDir: join(root, 'registry-data'),
    projectDir: join(root, 'project'),
    executor: options.executor,
    token: TOKEN,
    ...(fake
      ? {
          claudeBin,
          agentEnv: claudeChildEnv(fake.url, join(root, 'claude-config')),
          maxConcurrent: 2,
        }
      : {}),
    logs: Boolean(process.env.AOF_TEST_LOGS),
  });
  const report: FuzzReport = {
    seed: options.seed,
    executor: options.executor,
    requests: 0,
    acknowledged: 0,
    byOperation: {},
    byStatus: {},
    byMutation: {},
    unsendable: 0,
    failures: [],
    serverErrors: [],
    ms: 0,
  };
  const seen = new Set<string>();
  const fail = (what: string, index: number, req?: FuzzRequest, res?: FuzzResponse) => {
    const key = `${req?.op ?? ''} ${what.replace(/\d+/g, 'N')}`;
    if (seen.has(key)) return;
    seen.add(key);
    report.failures.push(
      `${what}\n    request #${index} (seed ${options.seed}): ${req ? describe(req) : ''}${res ? `\n    answer: ${res.status} ${res.text.slice(0, 400)}` : ''}`,
    );
  };
  try {
    await servers.start();
    const outsider = await outsiderAgent(servers.runtimeUrl, options.executor);
    const pools = fuzzPools([join(root, 'project'), join(root, 'project-2')], options.executor);
    const plan = fuzzPlan(options.seed, options.runs, pools, options.executor);
    const ledger = new Ledger();
    // First every operation with the outsider's credential while its run surely lives (a clean in the
    // plan deletes its session, after which its credential is refused with 401, as it must be).
    for (const [index, req] of outsiderPlan(options.seed, pools, options.executor).entries()) {
      const res = await send(
        req,
        req.api === 'runtime' ? servers.runtimeUrl : servers.registryUrl,
        TOKEN,
        outsider.credential,
      );
      report.requests++;
      for (const problem of checkResponse(req, res)) fail(`outsider: ${problem}`, index, req, res);
      if (options.executor === 'none' && res.status === 401)
        fail("outsider: a live agent's credential was refused as unknown (401)", index, req, res);
    }
    for (const [index, req] of plan.entries()) {
      const baseUrl = req.api === 'runtime' ? servers.runtimeUrl : servers.registryUrl;
      // A burst sends its different requests at once, concurrent duplicates the same one several times.
      const sent = req.burst ?? Array.from({ length: req.repeat }, () => req);
      const responses = await Promise.all(sent.map((one) => send(one, baseUrl, TOKEN, outsider.credential)));
      for (const [i, res] of responses.entries()) {
        const one = sent[i]!;
        report.requests++;
        if (res.unsendable) {
          report.unsendable++;
          continue;
        }
        const status = res.error ? 'no answer' : String(res.status);
        report.byOperation[one.op] ??= {};
        const counts = report.byOperation[one.op]!;
        counts[status] = (counts[status] ?? 0) + 1;
        report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
        const kind = req.burst ? 'burst' : req.mutation.split(':')[0]!;
        report.byMutation[kind] = (report.byMutation[kind] ?? 0) + 1;
        for (const problem of checkResponse(one, res)) fail(problem, index, one, res);
      }
      if (req.burst)
        await ledger.resync(
          req.api,
          String(req.params.name),
          req.api === 'runtime' ? servers.runtimeUrl : servers.registryUrl,
          TOKEN,
        );
      else for (const problem of ledger.apply(req, responses)) fail(problem, index, req);
      if (servers.unexpectedExit) {
        fail(servers.unexpectedExit, index, req);
        break;
      }
      if ((index + 1) % 1000 === 0) options.progress?.(index + 1);
    }
    report.acknowledged = ledger.acknowledged;
    await outsider.end();
    if (!servers.unexpectedExit) {
      if (options.executor === 'local') await settle(servers.runtimeUrl);
      const before = await dumpServers(servers.runtimeUrl, servers.registryUrl, TOKEN);
      for (const problem of await ledger.verify(before, { stable: options.executor === 'none' }))
        fail(`before any restart: ${problem}`, plan.length);
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        await servers.restart(signal);
        const after = await dumpServers(servers.runtimeUrl, servers.registryUrl, TOKEN);
        for (const problem of await ledger.verify(after, { stable: options.executor === 'none' }))
          fail(`after a ${signal} restart: ${problem}`, plan.length);
        for (const problem of compareDumps(before, after)) fail(`after a ${signal} restart: ${problem}`, plan.length);
      }
    }
  } finally {
    report.serverErrors = servers.log.filter((line) => / error /.test(line)).slice(0, 20);
    await servers.close();
    if (fake) {
      // Agents of the local sample may still be running: they are children of the stopped servers' data.
      await fake.close();
    }
    await removeDir(root);
  }
  report.ms = Date.now() - started;
  return report;
}

/**
 * An agent whose tree holds none of the fuzz's sessions: a session outside the pools whose run a
 * runner claimed (which gives the run its credential), its lease kept alive until `end`, which reports
 * the run finished (so that the dumps compared across restarts hold still). With the local executor,
 * whose runs are claimed in process, a credential of no live run stands in (refused all the same).
 */
async function outsiderAgent(
  runtimeUrl: string,
  executor: 'none' | 'local',
): Promise<{ credential: string; end(): Promise<void> }> {
  const session = 'fz-outsider';
  if (executor === 'local')
    return { credential: `aofa_${Buffer.from(session).toString('base64url')}.1.none`, end: async () => undefined };
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const post = async (url: string, body: unknown) => {
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<any>;
  };
  await post(`${runtimeUrl}/sessions`, { name: session, prompt: 'an agent of another tree', parent: null });
  const { claim } = await post(`${runtimeUrl}/runners/fz-outsider/claim`, { version: VERSION, host: 'fuzz', tags: [] });
  if (claim?.session !== session) throw new Error(`the outsider's run was not claimed: ${JSON.stringify(claim)}`);
  const lease = { session, run: claim.run, attempt: claim.attempt };
  const beat = setInterval(() => {
    void post(`${runtimeUrl}/runners/fz-outsider/heartbeat`, { leases: [lease] }).catch(() => undefined);
  }, 3000);
  return {
    // The run's credential comes in its RunSpec.
    credential: claim.spec.env.credential,
    async end() {
      clearInterval(beat);
      // Deleted by a clean or a prune meanwhile, or its lease lost: nothing to end.
      await post(`${runtimeUrl}/sessions/${session}/runs/${claim.run}/report`, {
        runner: 'fz-outsider',
        attempt: claim.attempt,
        from: 0,
        started: true,
        events: [{ type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'completed' } }],
      }).catch(() => undefined);
    },
  };
}

/**
 * Waits until no run is queued or running, so that what is compared across a restart holds still. A run
 * that asks for runner tags waits for a runner with them, which the local executor is not: it holds still.
 */
async function settle(runtimeUrl: string): Promise<void> {
  const headers = { authorization: `Bearer ${TOKEN}` };
  const get = async (path: string) => (await fetch(`${runtimeUrl}${path}`, { headers })).json() as Promise<any>;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { sessions } = (await get('/sessions?state=queued&state=running&limit=100')) as {
      sessions: Array<{ name: string; state: string }>;
    };
    let moving: string | undefined;
    for (const { name, state } of sessions) {
      if (state !== 'queued' && state !== 'running') continue;
      const session = await get(`/sessions/${name}`);
      if (session.state === 'queued' && session.runner_tags?.length) continue;
      moving = name;
      break;
    }
    if (!moving) return;
    await fetch(`${runtimeUrl}/sessions/${moving}/status?wait=30`, { headers });
  }
  throw new Error('runs still queued or running after 120 s');
}

/** The same sessions, runs, events and agents before and after a restart. */
function compareDumps(before: Dump, after: Dump): string[] {
  const problems: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const [name, { session, events }] of Object.entries(before.sessions)) {
    const now = after.sessions[name];
    if (!now) problems.push(`session '${name}' is gone`);
    else if (!same(now.session, session))
      problems.push(
        `session '${name}' changed: ${JSON.stringify(now.session).slice(0, 300)} was ${JSON.stringify(session).slice(0, 300)}`,
      );
    else if (!same(now.events, events))
      problems.push(`events of '${name}' changed (${now.events.length} now, ${events.length} before)`);
  }
  for (const name of Object.keys(after.sessions))
    if (!before.sessions[name]) problems.push(`session '${name}' appeared`);
  if (!same(after.agents, before.agents)) problems.push('the agents changed');
  return problems;
}

function describe(req: FuzzRequest): string {
  const body =
    req.raw ?? (req.body === undefined ? '' : Buffer.isBuffer(req.body) ? `<${req.body.length} bytes>` : req.body);
  return (
    `${req.op} [${req.mutation}]${req.repeat > 1 ? ` x${req.repeat} at once` : ''} ${req.method} ${req.target.slice(0, 200)} ` +
    `headers ${JSON.stringify(req.headers).slice(0, 200)} body ${JSON.stringify(String(body).slice(0, 300))}`
  );
}

/** The seed and size of a run: `FUZZ_SEED` and `FUZZ_RUNS` reproduce or extend one. */
export function fuzzSettings(defaultRuns: number): { seed: number; runs: number } {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  const runs = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns;
  if (!Number.isInteger(seed) || !Number.isInteger(runs) || runs < 1)
    throw new Error('FUZZ_SEED and FUZZ_RUNS must be integers');
  return { seed, runs };
}

/** The counts as a table, for people. */
export function formatReport(report: FuzzReport): string {
  const statuses = [...new Set(Object.values(report.byOperation).flatMap((c) => Object.keys(c)))].sort();
  const lines = [
    `seed ${report.seed}, executor ${report.executor}: ${report.requests} requests in ${(report.ms / 1000).toFixed(1)} s, ` +
      `${report.acknowledged} writes acknowledged, ${report.unsendable} unsendable, ${report.failures.length} failures`,
  ];
  lines.push(['operation'.padEnd(22), ...statuses.map((s) => s.padStart(9)), 'total'.padStart(7)].join(''));
  for (const [op, counts] of Object.entries(report.byOperation).sort()) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    lines.push(
      [op.padEnd(22), ...statuses.map((s) => String(counts[s] ?? '').padStart(9)), String(total).padStart(7)].join(''),
    );
  }
  lines.push(
    `by status: ${Object.entries(report.byStatus)
      .sort()
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')}`,
  );
  lines.push(
    `by kind: ${Object.entries(report.byMutation)
      .sort()
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')}`,
  );
  return lines.join('\n');
}
