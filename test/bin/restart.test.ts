// Waiting for a run survives a restart of the Agent Runtime, in every mode: ao-new (quiet and
// --verbose), ao-resume, ao-get-result --wait, and the MCP tools' sync start and resume. The
// runtime is a real process, killed and started again on the same port while the clients wait.
import assert from 'node:assert/strict';
import { call, stdioClient } from '../mcp/support/mcp-client.js';
import { echoModel, runBin, uniqueName, useStack, type BinResult } from './run-bin.js';

describe('waiting survives a runtime restart (processes)', function () {
  this.timeout(120_000);
  // SLOW prompts answer late, leaving time to restart the runtime while the clients wait.
  const fixture = useStack(echoModel, { agent: 'fake', runtimeProcess: true });

  it('ao-new (quiet and --verbose), ao-resume and ao-get-result --wait all print the result', async () => {
    const run = (args: string[]) =>
      runBin(args[0]!, args.slice(1), {
        env: fixture.stack.clientEnv,
        cwd: fixture.stack.projectDir,
        timeoutMs: 90_000,
      });
    const [quiet, verbose, resumed, awaited] = [
      uniqueName('quiet'),
      uniqueName('verbose'),
      uniqueName('resumed'),
      uniqueName('awaited'),
    ];
    assert.equal((await run(['ao-new', resumed, '-p', 'first'])).code, 0);
    assert.equal((await run(['ao-new', awaited, '-p', `SLOW ${awaited}`, '--async'])).code, 0);

    const waiting: Promise<[BinResult, BinResult, BinResult, BinResult]> = Promise.all([
      run(['ao-new', quiet, '-p', `SLOW ${quiet}`]),
      run(['ao-new', verbose, '-p', `SLOW ${verbose}`, '--verbose']),
      run(['ao-resume', resumed, '-p', `SLOW ${resumed}`]),
      run(['ao-get-result', awaited, '--wait']),
    ]);
    await waitForState([quiet, verbose, resumed], 'running');
    await fixture.stack.restartRuntime();

    const [q, v, r, a] = await waiting;
    assert.deepEqual([q.code, q.stdout], [0, `ECHO: SLOW ${quiet}\n`], q.stderr);
    assert.deepEqual([v.code, v.stdout], [0, `ECHO: SLOW ${verbose}\n`], v.stderr);
    // With --verbose (as on a terminal) the wait says that it retries, until when, and that it is back.
    assert.match(v.stderr, /; retrying until \d{1,2}:\d{2}:\d{2}.* — Ctrl-C stops waiting/, v.stderr);
    assert.match(v.stderr, /The Agent Runtime answers again; still waiting for session/, v.stderr);
    assert.doesNotMatch(q.stderr, /retrying until/, 'quiet when stderr is not a terminal');
    assert.deepEqual([r.code, r.stdout], [0, `ECHO: SLOW ${resumed}\n`], r.stderr);
    assert.deepEqual([a.code, a.stdout], [0, `ECHO: SLOW ${awaited}\n`], a.stderr);
  });

  it("the MCP tools' sync start and resume return the result", async () => {
    const { client } = await stdioClient(fixture.stack.clientEnv, { cwd: fixture.stack.projectDir });
    try {
      const [started, resumed] = [uniqueName('mcpstart'), uniqueName('mcpresume')];
      assert.equal((await call(client, 'start_agent_session', { name: resumed, prompt: 'first' })).isError, false);
      const waiting = Promise.all([
        call(
          client,
          'start_agent_session',
          { name: started, prompt: `SLOW ${started}`, timeout_seconds: 60 },
          { timeoutMs: 90_000 },
        ),
        call(
          client,
          'resume_agent_session',
          { name: resumed, prompt: `SLOW ${resumed}`, timeout_seconds: 60 },
          { timeoutMs: 90_000 },
        ),
      ]);
      await waitForState([started, resumed], 'running');
      await fixture.stack.restartRuntime();
      const [s, r] = await waiting;
      assert.deepEqual([s.isError, s.text], [false, `ECHO: SLOW ${started}`]);
      assert.deepEqual([r.isError, r.text], [false, `ECHO: SLOW ${resumed}`]);
    } finally {
      await client.close();
    }
  });

  /** Until every named session's last run is in `state` (the clients are waiting on it by then). */
  async function waitForState(names: string[], state: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(
        names.map((n) =>
          fixture.stack
            .client()
            .sessions.status(n)
            .then(
              (s) => s.state,
              () => 'none',
            ),
        ),
      );
      if (states.every((s) => s === state)) return;
      if (Date.now() > deadline) throw new Error(`sessions did not all become ${state}: ${states.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});
