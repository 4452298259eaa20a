// The RunSpec: what the runtime writes for one run (servers/runtime/run-spec.ts), how the runtime
// judges a runner's claim by the RunSpec versions it names, and how an executor refuses a RunSpec of
// a version it does not know.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { contract } from '../../servers/common/contract/contract.js';
import { HttpProblem } from '../../servers/common/contract/problem.js';
import { runTraceparent } from '../../servers/common/telemetry/trace-ids.js';
import { VERSION } from '../../servers/common/version.js';
import { createExecutor } from '../../servers/executor/index.js';
import type { ClaimedRun, EventInput, RunPort } from '../../servers/executor/run-port.js';
import { RUN_SPEC_VERSION, runSpecRefusal, type RunSpec } from '../../servers/executor/run-spec.js';
import { checkRunner } from '../../servers/runtime/runner-handlers.js';
import { buildRunSpec } from '../../servers/runtime/run-spec.js';
import { newRun, type StoredSession } from '../../servers/runtime/session-store.js';
import { removeDir, tempDir, testLogger } from '../support/servers.js';

const NOW = '2026-01-01T00:00:00.000Z';
const CONVERSATION = '0b7e3a52-6f0c-4a8e-9d51-2f7c1e0a9b34';
const SOURCE_CONVERSATION = '5d1c2b8e-3a4f-4e6d-8c7b-9a0e1f2d3c4b';

const stored = (over: Partial<StoredSession> = {}): StoredSession => ({
  _id: 'worker',
  name: 'worker',
  agent: null,
  blueprint: null,
  project_dir: '/work/project',
  claude_session_id: CONVERSATION,
  created_at: NOW,
  last_resumed_at: null,
  updated_at: NOW,
  runs: [newRun(1, 'do the thing', NOW)],
  ...over,
});

const validRunSpec = contract.compile('runtime', { $ref: '#/components/schemas/RunSpec' });
const assertValid = (spec: RunSpec) => assert.ok(validRunSpec(spec), JSON.stringify(validRunSpec.errors));

describe('RunSpec: what the runtime writes for one run', () => {
  it("carries the blueprint's settings, approval mode, output schema, limits, the credential and the agent's names", () => {
    const session = stored({
      agent: 'reviewer',
      blueprint: {
        name: 'reviewer',
        system_prompt: 'Review carefully.',
        model: 'claude-sonnet-4-5',
        permission_mode: 'acceptEdits',
        allowed_tools: ['Read', 'Grep'],
        disallowed_tools: ['Bash(rm:*)'],
        mcp_servers: { echo: { command: 'echo-mcp', args: ['--quiet'] } },
        approval: { timeout_seconds: 60 },
        warm: 2,
        warm_after_run: 300,
      },
      limits: { max_turns: 5, timeout_seconds: 600 },
      output_schema: JSON.stringify({ type: 'object', required: ['verdict'] }),
    });
    const before = structuredClone(session);
    const spec = buildRunSpec(session, session.runs[0]!, {
      conversation: null,
      credential: 'aofa_worker.1.secret',
      tracing: false,
    });
    assertValid(spec);
    assert.deepEqual(spec, {
      version: RUN_SPEC_VERSION,
      session: 'worker',
      run: 1,
      prompt: 'do the thing',
      project_dir: '/work/project',
      conversation: { id: CONVERSATION, started: false, fork_of: null, saved: null },
      agent: {
        cli: 'claude',
        system_prompt: 'Review carefully.',
        model: 'claude-sonnet-4-5',
        permission_mode: 'acceptEdits',
        allowed_tools: ['Read', 'Grep'],
        disallowed_tools: ['Bash(rm:*)'],
        mcp_servers: { echo: { command: 'echo-mcp', args: ['--quiet'] } },
      },
      approval: true,
      output_schema: { type: 'object', required: ['verdict'] },
      env: { vars: { AGENT_ORCHESTRATOR_SESSION_NAME: 'worker' }, credential: 'aofa_worker.1.secret' },
      limits: { max_turns: 5, timeout_seconds: 600 },
      warm: { blueprint: 'reviewer', count: 2, after_run_seconds: 300 },
    });
    assert.deepEqual(session, before, 'the session is left as it was');
    assert.deepEqual(
      buildRunSpec(session, session.runs[0]!, {
        conversation: null,
        credential: 'aofa_worker.1.secret',
        tracing: false,
      }),
      spec,
      'the same inputs give the same RunSpec',
    );
  });

  it('a session without a blueprint: Claude Code with its defaults, no approval, no schema, no limits', () => {
    const session = stored();
    const spec = buildRunSpec(session, session.runs[0]!, { conversation: null, tracing: false });
    assertValid(spec);
    assert.deepEqual(spec.agent, {
      cli: 'claude',
      system_prompt: null,
      model: null,
      permission_mode: null,
      allowed_tools: [],
      disallowed_tools: [],
      mcp_servers: {},
    });
    assert.equal(spec.approval, false);
    assert.equal(spec.output_schema, null);
    assert.equal(spec.limits, null);
    assert.deepEqual(spec.env, { vars: { AGENT_ORCHESTRATOR_SESSION_NAME: 'worker' } }, 'no credential: none given');
  });

  it('a resumed run continues the conversation it carries; a traced run gives the agent its TRACEPARENT', () => {
    const session = stored({ conversation_started: true });
    session.runs.push(newRun(2, 'and now this', NOW));
    const saved = Buffer.from('gzip bytes, as kept');
    const spec = buildRunSpec(session, session.runs[1]!, { conversation: saved, tracing: true });
    assertValid(spec);
    assert.equal(spec.run, 2);
    assert.equal(spec.prompt, 'and now this');
    assert.deepEqual(spec.conversation, {
      id: CONVERSATION,
      started: true,
      fork_of: null,
      saved: saved.toString('base64'),
    });
    assert.equal(spec.env.vars.TRACEPARENT, runTraceparent(session, 2));
  });

  it("a fork's first run copies its source's conversation under its own id", () => {
    const session = stored({
      forked_from: { session: 'source', run: 3, claude_session_id: SOURCE_CONVERSATION },
    });
    const spec = buildRunSpec(session, session.runs[0]!, { conversation: Buffer.from('source'), tracing: false });
    assertValid(spec);
    assert.deepEqual(spec.conversation, {
      id: CONVERSATION,
      started: false,
      fork_of: SOURCE_CONVERSATION,
      saved: Buffer.from('source').toString('base64'),
    });
  });
});

describe('RunSpec versions', () => {
  it('an executor runs only the versions it knows, and says why it refuses another', () => {
    assert.equal(runSpecRefusal({ version: RUN_SPEC_VERSION }, [RUN_SPEC_VERSION]), null);
    const reason = runSpecRefusal({ version: RUN_SPEC_VERSION + 1 }, [RUN_SPEC_VERSION]);
    assert.match(reason ?? '', /^run-spec-version: /);
    assert.match(reason ?? '', new RegExp(`version ${RUN_SPEC_VERSION + 1}.*only version ${RUN_SPEC_VERSION}`));
  });

  it('the runtime gives runs to a runner that knows its RunSpec version, whatever its aof version', () => {
    assert.doesNotThrow(() => checkRunner('r', { version: '0.0.1-older', run_spec_versions: [RUN_SPEC_VERSION] }));
    assert.doesNotThrow(() => checkRunner('r', { version: VERSION, run_spec_versions: [RUN_SPEC_VERSION, 7] }));
    const refusal = (claim: Parameters<typeof checkRunner>[1]) => {
      try {
        checkRunner('r', claim);
      } catch (error) {
        assert.ok(error instanceof HttpProblem);
        return { status: error.status, code: error.code, message: error.message };
      }
      return null;
    };
    const older = refusal({ version: '0.0.1-older', run_spec_versions: [RUN_SPEC_VERSION + 1] });
    assert.equal(older?.status, 409);
    assert.equal(older?.code, 'run-spec-version');
    assert.match(older?.message ?? '', /runs RunSpec version 2; this runtime .* writes version 1/);
    // From before RunSpecs (it names none): only the very same aof version.
    assert.equal(refusal({ version: VERSION }), null);
    assert.equal(refusal({ version: '0.0.1-older' })?.code, 'runner-version');
  });

  it('an executor given a RunSpec of a version it does not know ends the run failed, and starts nothing', async () => {
    const dataDir = await tempDir('aof-run-spec-');
    const session = stored();
    const spec = {
      ...buildRunSpec(session, session.runs[0]!, { conversation: null, tracing: false }),
      version: RUN_SPEC_VERSION + 1,
    };
    const reports: Array<{ events: EventInput[]; started: boolean }> = [];
    let handed = false;
    const port: RunPort = {
      runner: 'test',
      waits: false,
      leaseMs: 30_000,
      runtimeUrl: 'http://127.0.0.1:9',
      claim: async () => {
        if (handed) return null;
        handed = true;
        return { spec, attempt: 1, reported: 0 } satisfies ClaimedRun;
      },
      held: async () => [],
      record: async (_claim, events, options = {}) => {
        reports.push({ events, started: options.started === true });
        return true;
      },
      parsedEvents: async () => 0,
      startRetry: async () => undefined,
      stopRequested: async () => false,
      heartbeat: async (claims) => claims.map(() => 'held' as const),
    };
    // A CLI that is not there: had the executor tried to run the RunSpec, the run would fail for that instead.
    const executor = await createExecutor(port, {
      dataDir,
      logger: testLogger(),
      claudeBin: join(dataDir, 'no-such-claude'),
      pollMs: 20,
    });
    try {
      const deadline = Date.now() + 10_000;
      while (!reports.length && Date.now() < deadline) await sleep(10);
      assert.equal(reports.length, 1, 'one report: the end');
      const [report] = reports;
      assert.equal(report!.started, false);
      assert.equal(report!.events.length, 1);
      const stop = report!.events[0]!;
      assert.equal(stop.type, 'session_stop');
      assert.match(
        (stop as Extract<EventInput, { type: 'session_stop' }>).data.reason,
        /^run-spec-version: the run's RunSpec is version 2; this executor runs only version 1/,
      );
      assert.deepEqual(await readdir(dataDir).catch(() => []), [], 'no run files written');
    } finally {
      await executor.detach();
      await removeDir(dataDir);
    }
  });
});
