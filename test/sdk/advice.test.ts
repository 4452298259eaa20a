// The one home of client advice: every problem code gets a message that names what failed and the
// next step in the client's own terms (commands for the CLI, tools for MCP), chosen by code alone.
import assert from 'node:assert/strict';
import {
  advise,
  ApiError,
  endedRunAdvice,
  ConnectionError,
  WaitTimeoutError,
  type ClientTerms,
  type ProblemCode,
} from '../../sdk/index.js';
import { registryDocument } from '../../servers/common/contract/documents.generated.js';
import { CLI_TERMS } from '../../bin/lib/cli.js';
import { MCP_TERMS } from '../../servers/mcp/format.js';

const codes = (registryDocument as any).components.schemas.ProblemCode.enum as ProblemCode[];

const apiError = (code: string, status: number, detail = 'The detail the server wrote') =>
  ApiError.from({
    service: 'Agent Runtime',
    method: 'POST',
    url: 'http://127.0.0.1:8765/sessions',
    status,
    problem: { type: `urn:aof:problem:${code}`, title: 'T', status, detail },
  });

const subject = { session: 'fix-tests', agent: 'reviewer', projectDir: '/srv/app' };

describe('sdk: advice for each failure', () => {
  it('has a message for every code the contract lists, naming what failed', () => {
    for (const code of codes) {
      for (const terms of [CLI_TERMS, MCP_TERMS]) {
        const advice = advise(apiError(code, code === 'internal-error' ? 500 : 409), terms, subject);
        assert.ok(advice, code);
        assert.equal(advice.code, code);
        assert.ok(advice.message.length > 10, `${code}: ${advice.message}`);
        if (code.startsWith('session-')) assert.match(advice.message, /'fix-tests'/, code);
        if (code.startsWith('agent-')) assert.match(advice.message, /'reviewer'/, code);
      }
    }
  });

  it("says the next step in each client's terms", () => {
    const busy = apiError('session-busy', 409);
    assert.equal(
      advise(busy, CLI_TERMS, subject)!.message,
      "Session 'fix-tests' is still queued or running — wait for it with ao-get-result fix-tests --wait, or stop it with ao-stop fix-tests, then resume",
    );
    assert.equal(
      advise(busy, MCP_TERMS, subject)!.message,
      "Session 'fix-tests' is still queued or running — wait for it with get_agent_session_status (wait_seconds), or stop it with stop_agent_session, then resume",
    );
    const inactive = apiError('agent-inactive', 422);
    assert.match(
      advise(inactive, CLI_TERMS, subject)!.message,
      /^Agent 'reviewer' is inactive — activate it first with ao-activate-agent reviewer/,
    );
    assert.match(
      advise(inactive, MCP_TERMS, subject)!.message,
      /^Agent blueprint 'reviewer' is inactive .*list_agent_blueprints/,
    );
    const missing = apiError('session-not-found', 404);
    assert.match(
      advise(missing, CLI_TERMS, { session: 'x', resuming: true })!.message,
      /start it with ao-new x -p PROMPT/,
    );
    assert.equal(
      advise(missing, CLI_TERMS, { session: 'x', waiting: true })!.message,
      "Session 'x' was deleted while waiting for it",
    );
  });

  it('goes by the code, not by the words of the detail', () => {
    // A detail that reads like another failure changes nothing: the code decides.
    const error = apiError('session-exists', 409, "Session 'fix-tests' is running; agent is inactive");
    assert.match(advise(error, CLI_TERMS, subject)!.message, /already exists — continue it with ao-resume fix-tests/);
  });

  it('covers a lost connection, a wait that ran out, and leaves other errors to the client', () => {
    const connection = advise(
      new ConnectionError(
        'Agent Registry',
        'http://127.0.0.1:8767',
        Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      ),
      MCP_TERMS,
    );
    assert.equal(connection!.code, 'connection');
    assert.match(connection!.message, /AGENT_ORCHESTRATOR_AGENT_API_URL in this MCP server's environment/);
    const timeout = advise(new WaitTimeoutError('job', 1000, 'running'), CLI_TERMS);
    assert.match(timeout!.message, /check it with ao-status job and collect it with ao-get-result job$/);
    assert.equal(advise(new TypeError('boom'), CLI_TERMS as ClientTerms), undefined);
  });

  it('names request fields as the client does: flags for the commands, the fields for MCP', () => {
    const detail =
      "body.worktree: '/srv/body.txt' is not in a git repository; body.limits.timeout_seconds: must be at most 5";
    const error = apiError('unprocessable', 422, detail);
    assert.equal(
      advise(error, CLI_TERMS, subject)!.message,
      "--worktree: '/srv/body.txt' is not in a git repository; --run-timeout: must be at most 5",
    );
    assert.equal(advise(error, MCP_TERMS, subject)!.message, detail);
    const parent = apiError('parent-not-found', 422, "body.parent: session 'p' not found");
    assert.match(advise(parent, CLI_TERMS, subject)!.message, /^--parent: session 'p' not found — /);
  });

  it('ends a run error that ends with a period without a stray period before the advice', () => {
    const advice = endedRunAdvice(
      { name: 'x', run: 1, state: 'failed', error: 'Set IS_SANDBOX=1 (or run as a normal user).' },
      CLI_TERMS,
    );
    assert.match(advice, /\(or run as a normal user\) — see its events/);
  });

  it('says a wait that ran out in seconds', () => {
    assert.equal(new WaitTimeoutError('job', 2000, undefined).message, "Session 'job' has not ended after 2 s");
    assert.equal(
      new WaitTimeoutError('job', 1500, 'running').message,
      "Session 'job' has not ended after 1.5 s (it is running)",
    );
  });
});

describe('sdk: advice punctuation', () => {
  it('never leaves a full stop before the dash that adds the advice, for every code and both clients', () => {
    const detail = "Parent session 'lead' not found (see the list).";
    for (const code of codes) {
      for (const terms of [CLI_TERMS, MCP_TERMS]) {
        const advice = advise(apiError(code, code === 'internal-error' ? 500 : 409, detail), terms, subject)!;
        assert.doesNotMatch(advice.message, /\.\s+—/, `${code}: ${advice.message}`);
      }
    }
    const ended = endedRunAdvice(
      { name: 'w', run: 2, state: 'failed', error: 'The model refused (rate limited).' },
      CLI_TERMS,
    );
    assert.match(ended, /^Session 'w' failed \(run 2\): The model refused \(rate limited\) — see its events/);
  });
});
