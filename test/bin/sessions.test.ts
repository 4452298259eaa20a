// The session commands as processes against the real registry and runtime: ao-new, ao-resume,
// ao-status, ao-get-result, ao-stop, ao-events, ao-show-config, ao-list-sessions, ao-clean. The agent
// behind the sessions is the fake agent (test/support/fake-agent.mjs) talking to the fake model: the
// point is the commands; ao-new and ao-resume with the real CLI are in fork, structured-output and
// worktree (test/bin) and the plugin's tests.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describeRequest, type FakeRequest, type Reply } from '../support/fake-model.js';
import { eventually } from '../support/processes.js';
import { binPath, runShell, uniqueName, useStack } from './run-bin.js';

/**
 * What the fake model answers, chosen by markers in the prompt so tests never race over a shared
 * responder: FAIL → an API error, TOOL → a Bash call then its output, SLOW → an answer held until the
 * test lets it through (`answerNow(prompt)`), however long the test's steps take before that.
 */
const held = new Map<string, () => void>();
const answerable = new Set<string>();
function answerNow(prompt: string): void {
  answerable.add(prompt);
  held.get(prompt)?.();
}

function responder(req: FakeRequest): Reply | Promise<Reply> {
  const prompt = req.lastUserText;
  if (req.toolResults.length) return { text: `tool said: ${req.toolResults[0]!.text.trim()}` };
  if (prompt.includes('FAIL')) return { error: { status: 500, message: 'the fake model failed on purpose' } };
  if (prompt.includes('TOOL'))
    return { toolUse: { name: 'Bash', input: { command: 'echo tool-ran', description: 'Say it' } } };
  if (prompt.includes('SLOW')) {
    const reply = { text: `ECHO: ${prompt}` };
    if (answerable.has(prompt)) return reply;
    return new Promise((resolve) => held.set(prompt, () => resolve(reply)));
  }
  return { text: `ECHO: ${prompt}` };
}

describe('ao-* session commands (processes against real servers)', function () {
  this.timeout(60_000);
  const fixture = useStack(responder, { agent: 'fake' });
  const { run } = fixture;

  describe('ao-new', () => {
    it('waits for the run and prints only the result on stdout, exit 0', async () => {
      const name = uniqueName('new');
      const r = await run('ao-new', [name, '-p', 'hello there']);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'ECHO: hello there\n');
      assert.equal(r.code, 0);
      assert.equal((await fixture.stack.client().sessions.status(name)).state, 'finished');
    });

    it("works in the caller's directory by default and resolves a relative --project-dir against it", async () => {
      const here = uniqueName('cwd');
      assert.equal((await run('ao-new', [here, '-p', 'where'])).code, 0);
      assert.equal((await fixture.stack.client().sessions.get(here)).project_dir, fixture.stack.projectDir);

      const relative = uniqueName('rel');
      const r = await run('ao-new', [relative, '-p', 'where', '--project-dir', 'project'], { cwd: fixture.stack.root });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        (await fixture.stack.client().sessions.get(relative)).project_dir,
        join(fixture.stack.root, 'project'),
      );
    });

    it('reads the prompt from stdin', async () => {
      const r = await run('ao-new', [uniqueName('stdin')], { input: 'from stdin\n' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'ECHO: from stdin\n');
    });

    it('takes -p over stdin, leaving stdin unread; -p - reads stdin', async () => {
      const r = await run('ao-new', [uniqueName('both'), '-p', 'from the flag'], { input: 'from the pipe' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'ECHO: from the flag\n');
      const dash = await run('ao-new', [uniqueName('dash'), '-p', '-'], { input: 'from the pipe' });
      assert.equal(dash.code, 0, dash.stderr);
      assert.equal(dash.stdout, 'ECHO: from the pipe\n');
    });

    it("creates every session of a `while read` loop: -p leaves the loop's input alone", async () => {
      const names = [uniqueName('loop'), uniqueName('loop'), uniqueName('loop')];
      const r = await runShell('while read n; do "$AO_NEW" "$n" --async -p "review $n" > /dev/null || exit 1; done', {
        cwd: fixture.stack.projectDir,
        env: { ...fixture.stack.clientEnv, AO_NEW: binPath('ao-new') },
        input: `${names.join('\n')}\n`,
      });
      assert.equal(r.code, 0, r.stderr);
      for (const name of names) {
        assert.equal((await fixture.stack.client().sessions.get(name)).runs[0]!.prompt, `review ${name}`);
      }
    });

    it('takes a prompt that starts with -, whatever it is (-p -x, -p=-x, -p --help), and does the work', async () => {
      for (const [args, prompt] of [
        [['-p', '-x'], '-x'],
        [['-p=-x'], '-x'],
        [['--prompt=-v'], '-v'],
        [['-p', '--help'], '--help'],
        [['-p', '-h'], '-h'],
      ] as const) {
        const name = uniqueName('dash');
        const r = await run('ao-new', [name, ...args]);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, `ECHO: ${prompt}\n`, args.join(' '));
        assert.equal((await fixture.stack.client().sessions.get(name)).runs[0]!.prompt, prompt);
      }
    });

    it('checks every option before creating anything', async () => {
      const name = uniqueName('badopt');
      for (const args of [
        ['--timeout', 'soon'],
        ['--timeout', '0'],
        ['--timeout', '-1'],
        ['--agent', 'bad name'],
      ]) {
        const r = await run('ao-new', [name, '-p', 'x', ...args]);
        assert.equal(r.code, 1, args.join(' '));
        assert.equal(r.stdout, '');
      }
      await assert.rejects(fixture.stack.client().sessions.get(name), { name: 'NotFoundError' });
      const resumed = uniqueName('badresume');
      assert.equal((await run('ao-new', [resumed, '-p', 'x'])).code, 0);
      assert.equal((await run('ao-resume', [resumed, '-p', 'y', '--timeout', 'soon'])).code, 1);
      assert.equal((await fixture.stack.client().sessions.get(resumed)).runs.length, 1);
    });

    it('falls back to -p when stdin is empty, or an open pipe that stays silent', async () => {
      const empty = await run('ao-new', [uniqueName('empty'), '-p', 'flag one'], { input: '' });
      assert.equal(empty.stdout, 'ECHO: flag one\n');
      const silent = await run('ao-new', [uniqueName('silent'), '-p', 'flag two'], {
        openStdin: true,
        timeoutMs: 20_000,
      });
      assert.equal(silent.code, 0, silent.stderr);
      assert.equal(silent.stdout, 'ECHO: flag two\n');
    });

    it('refuses to run without a prompt, and creates nothing', async () => {
      const name = uniqueName('noprompt');
      for (const args of [[name], [name, '-p', '   ']]) {
        const r = await run('ao-new', args);
        assert.equal(r.code, 1, args.join(' '));
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^ao-new: No prompt given — pass -p PROMPT or pipe it on stdin/);
      }
      const noValue = await run('ao-new', [name, '-p']);
      assert.deepEqual(
        [noValue.code, noValue.stderr],
        [1, 'ao-new: -p needs a value — pass -p PROMPT, or -p - to read it from stdin\n'],
      );
      await assert.rejects(fixture.stack.client().sessions.get(name), { name: 'NotFoundError' });
    });

    it('says to use ao-resume when the session exists', async () => {
      const name = uniqueName('dup');
      assert.equal((await run('ao-new', [name, '-p', 'first'])).code, 0);
      const r = await run('ao-new', [name, '-p', 'second']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr,
        `ao-new: Session '${name}' already exists — continue it with ao-resume ${name} -p PROMPT, or pick another name\n`,
      );
      const json = await run('ao-new', [name, '-p', 'second', '--json']);
      assert.equal(json.code, 1);
      assert.equal(json.errorJson().error.code, 'session_exists');
    });

    it('says where to look when the agent does not exist, and checks names before asking', async () => {
      const r = await run('ao-new', [uniqueName('noagent'), '--agent', 'no-such-agent', '-p', 'x']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "ao-new: Agent 'no-such-agent' not found — see ao-list-agents\n");

      const bad = await run('ao-new', ['bad name', '-p', 'x']);
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        /^ao-new: Invalid session name 'bad name' — use 1 to 60 letters, digits, '_' or '-', starting with a letter or digit\n$/,
      );
      const long = await run('ao-new', ['x'.repeat(61), '-p', 'x']);
      assert.match(long.stderr, /Invalid session name/);
      const badAgent = await run('ao-new', [uniqueName('a'), '--agent', '-x', '-p', 'x']);
      assert.equal(badAgent.code, 1);
    });

    it('says so when the project directory does not exist', async () => {
      const r = await run('ao-new', [uniqueName('nodir'), '-p', 'x', '--project-dir', 'no/such/dir']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^ao-new: Project directory '.*\/no\/such\/dir' is not an existing directory .* --project-dir\n$/,
      );
    });

    it('says why a webhook URL is refused (the runtime is no proxy), and creates nothing', async () => {
      const name = uniqueName('meta');
      const r = await run('ao-new', [name, '-p', 'x', '--webhook-url', 'http://169.254.169.254/latest/meta-data/']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^ao-new: The webhook URL is refused: 169\.254\.169\.254 is a link-local address .*AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS.* — use a public address, or ask whoever runs the Agent Runtime to list the host there\n$/,
      );
      assert.equal((await run('ao-status', [name])).stdout, 'not_existent\n');
    });

    it('starts a session from an agent blueprint, whose system prompt reaches the model', async () => {
      const agent = uniqueName('tester');
      await fixture.stack.client().agents.create({
        name: agent,
        description: 'Test agent',
        system_prompt: `You are ${agent}, a careful tester.`,
      });
      const name = uniqueName('withagent');
      const r = await run('ao-new', [name, '--agent', agent, '-p', `blueprint check ${name}`]);
      assert.equal(r.code, 0, r.stderr);
      const request = fixture.stack.fake.requests
        .map((body, i) => describeRequest(body, i))
        .find((q) => q.lastUserText === `blueprint check ${name}`);
      assert.ok(request, 'the model got the prompt');
      assert.ok(
        request.system.includes(`You are ${agent}, a careful tester.`),
        "the blueprint's system prompt is in the system prompt",
      );
      const config = (await run('ao-show-config', [name, '--json'])).json();
      assert.equal(config.agent, agent);
      assert.equal(config.blueprint.system_prompt, `You are ${agent}, a careful tester.`);
    });

    it("prints a failed run's error on stderr and exits 1, with nothing on stdout", async () => {
      const name = uniqueName('fail');
      const r = await run('ao-new', [name, '-p', 'please FAIL']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        new RegExp(
          `^ao-new: Session '${name}' failed \\(run 1\\): .*the fake model failed on purpose.* — see its events with ao-events ${name}`,
        ),
      );
    });

    it('--json prints the result document, also for a failed run (exit 1, JSON error on stderr)', async () => {
      const ok = await run('ao-new', [uniqueName('json'), '-p', 'json please', '--json']);
      assert.equal(ok.code, 0);
      assert.deepEqual(
        { ...ok.json(), name: 'x' },
        { name: 'x', run: 1, state: 'finished', result: 'ECHO: json please', error: null, is_error: false },
      );
      assert.equal(ok.stderr, '');

      const failed = await run('ao-new', [uniqueName('jsonfail'), '-p', 'FAIL as json', '--json']);
      assert.equal(failed.code, 1);
      assert.equal(failed.json().state, 'failed');
      assert.equal(failed.json().is_error, true);
      assert.match(failed.json().error, /failed on purpose/);
      assert.equal(failed.errorJson().error.code, 'failed');
    });

    it('shows tool calls on stderr with --verbose while stdout stays the result', async () => {
      const r = await run('ao-new', [uniqueName('tool'), '-p', 'use a TOOL', '--verbose']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'tool said: tool-ran\n');
      assert.equal(r.stderr, '→ Bash(command="echo tool-ran", description="Say it")\n');
      const quiet = await run('ao-new', [uniqueName('tool'), '-p', 'use a TOOL']);
      assert.equal(quiet.stderr, '', 'no progress when stderr is not a terminal');
    });

    it('--async returns at once; ao-status and ao-get-result --wait follow the run', async () => {
      const name = uniqueName('async');
      // The model's answer is held until the test lets it through: ao-new returning at all shows it did not wait.
      const r = await run('ao-new', [name, '-p', 'SLOW async work', '--async']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(
          `^Session '${name}' (queued|running) \\(run 1\\) — check it with ao-status ${name}, collect it with ao-get-result ${name}\\n$`,
        ),
      );

      const status = await run('ao-status', [name]);
      assert.match(status.stdout, /^(queued|running)\n$/);
      const early = await run('ao-get-result', [name]);
      assert.equal(early.code, 1);
      assert.match(
        early.stderr,
        new RegExp(
          `^ao-get-result: Session '${name}' is still queued or running, so it has no result yet — wait for it with ao-get-result ${name} --wait`,
        ),
      );
      assert.equal((await run('ao-get-result', [name, '--json'])).errorJson().error.code, 'session_not_ended');

      answerNow('SLOW async work');
      const waited = await run('ao-get-result', [name, '--wait']);
      assert.equal(waited.code, 0, waited.stderr);
      assert.equal(waited.stdout, 'ECHO: SLOW async work\n');
      assert.equal((await run('ao-status', [name])).stdout, 'finished\n');
    });

    it('Ctrl-C stops waiting, not the run, and says how to follow it', async () => {
      const name = uniqueName('sigint');
      const r = await run('ao-new', [name, '-p', 'SLOW interrupted', '--verbose'], {
        onSpawn: (child) => {
          // A run is `running` from its spawn, which can come before ao-new starts waiting (and
          // handles SIGINT): wait for Claude Code's first event, by then ao-new is waiting on it.
          void eventually(
            'the run to start',
            async () => (await fixture.stack.client().sessions.listEvents(name)).events.length > 0,
          ).then(() => child.kill('SIGINT'));
        },
      });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr,
        `ao-new: Stopped waiting; session '${name}' keeps running — check it with ao-status ${name}, stop it with ao-stop ${name}\n`,
      );
      answerNow('SLOW interrupted');
      assert.equal((await run('ao-get-result', [name, '--wait'])).stdout, 'ECHO: SLOW interrupted\n');
    });

    it('--async --json prints the new session', async () => {
      const name = uniqueName('asyncjson');
      const session = (await run('ao-new', [name, '-p', 'quick', '--async', '--json'])).json();
      assert.equal(session.name, name);
      assert.equal(session.runs.length, 1);
      await fixture.stack.client().sessions.waitForResult(name, { timeoutMs: 30_000 });
    });

    it('--timeout stops waiting but not the run', async () => {
      const name = uniqueName('timeout');
      const r = await run('ao-new', [name, '-p', 'SLOW beyond the timeout', '--timeout', '1']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        new RegExp(
          `^ao-new: Session '${name}' has not ended after 1 s — it keeps running; check it with ao-status ${name}`,
        ),
      );
      answerNow('SLOW beyond the timeout');
      assert.equal(
        (await run('ao-get-result', [name, '--wait', '--json'])).json().result,
        'ECHO: SLOW beyond the timeout',
      );
    });
  });

  describe('ao-resume', () => {
    it('continues the conversation and prints the new result', async () => {
      const name = uniqueName('resume');
      assert.equal((await run('ao-new', [name, '-p', `first turn of ${name}`])).code, 0);
      const r = await run('ao-resume', [name, '-p', `second turn of ${name}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `ECHO: second turn of ${name}\n`);
      const request = fixture.stack.fake.requests
        .map((body, i) => describeRequest(body, i))
        .find((q) => q.lastUserText === `second turn of ${name}`);
      assert.ok(
        request && JSON.stringify(request.body.messages).includes(`first turn of ${name}`),
        'the second turn sees the first',
      );
      assert.equal((await run('ao-show-config', [name, '--json'])).json().runs, 2);
    });

    it('reads the prompt from -p, else from stdin', async () => {
      const name = uniqueName('resumestdin');
      assert.equal((await run('ao-new', [name, '-p', 'start'])).code, 0);
      const r = await run('ao-resume', [name, '-p', 'the flag'], { input: 'not read' });
      assert.equal(r.stdout, 'ECHO: the flag\n');
      const piped = await run('ao-resume', [name], { input: 'piped follow-up' });
      assert.equal(piped.stdout, 'ECHO: piped follow-up\n');
      const none = await run('ao-resume', [name]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /^ao-resume: No prompt given — pass -p PROMPT or pipe it on stdin/);
    });

    it('says to use ao-new when the session does not exist', async () => {
      const r = await run('ao-resume', ['never-created', '-p', 'x']);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        "ao-resume: Session 'never-created' not found — start it with ao-new never-created -p PROMPT (see ao-list-sessions)\n",
      );
    });

    it('says what to do while the session is still running', async () => {
      const name = uniqueName('busy');
      assert.equal((await run('ao-new', [name, '-p', 'SLOW and busy', '--async'])).code, 0);
      const r = await run('ao-resume', [name, '-p', 'too early']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `^ao-resume: Session '${name}' is still queued or running — wait for it with ao-get-result ${name} --wait, or stop it with ao-stop ${name}, then resume\\n$`,
        ),
      );
      assert.equal(
        (await run('ao-resume', [name, '-p', 'too early', '--json'])).errorJson().error.code,
        'session_busy',
      );
      assert.equal((await run('ao-stop', [name])).stdout, 'stopped\n');
    });
  });

  describe('ao-status, ao-get-result, ao-stop', () => {
    it('ao-status prints one word, not_existent (exit 0) for an unknown session, JSON with --json', async () => {
      const name = uniqueName('status');
      await run('ao-new', [name, '-p', 'x']);
      assert.deepEqual(await run('ao-status', [name]).then((r) => [r.code, r.stdout, r.stderr]), [0, 'finished\n', '']);
      assert.deepEqual(await run('ao-status', ['nobody-here']).then((r) => [r.code, r.stdout]), [0, 'not_existent\n']);
      assert.deepEqual((await run('ao-status', ['nobody-here', '--json'])).json(), {
        name: 'nobody-here',
        state: 'not_existent',
      });
      assert.deepEqual((await run('ao-status', [name, '--json'])).json(), {
        name,
        state: 'finished',
        pending_approvals: 0,
      });
    });

    it('ao-status says failed and stopped', async () => {
      const failed = uniqueName('sfail');
      await run('ao-new', [failed, '-p', 'FAIL now']);
      assert.equal((await run('ao-status', [failed])).stdout, 'failed\n');
      const stopped = uniqueName('sstop');
      await run('ao-new', [stopped, '-p', 'SLOW then stopped', '--async']);
      await eventually(
        'the run to start',
        async () => (await fixture.stack.client().sessions.status(stopped)).state === 'running',
      );
      const stop = await run('ao-stop', [stopped]);
      assert.deepEqual([stop.code, stop.stdout], [0, 'stopped\n']);
      assert.equal((await run('ao-status', [stopped])).stdout, 'stopped\n');
      const again = await run('ao-stop', [stopped, '--json']);
      assert.deepEqual(again.json(), { name: stopped, state: 'stopped', stopped: [] });
      const result = await run('ao-get-result', [stopped]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^ao-get-result: Session '${stopped}' was stopped \\(run 1\\): `));
      assert.match(
        (await run('ao-stop', ['not-a-session'])).stderr,
        /^ao-stop: Session 'not-a-session' not found — see ao-list-sessions\n$/,
      );
    });

    it('ao-get-result prints the last result, JSON with --json, and errors for unknown or failed sessions', async () => {
      const name = uniqueName('result');
      await run('ao-new', [name, '-p', 'the answer']);
      const r = await run('ao-get-result', [name]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'ECHO: the answer\n', '']);
      assert.deepEqual((await run('ao-get-result', [name, '--json'])).json(), {
        name,
        run: 1,
        state: 'finished',
        result: 'ECHO: the answer',
        error: null,
        is_error: false,
      });

      const missing = await run('ao-get-result', ['no-such-session']);
      assert.deepEqual(
        [missing.code, missing.stderr],
        [1, "ao-get-result: Session 'no-such-session' not found — see ao-list-sessions\n"],
      );
      assert.equal(
        (await run('ao-get-result', ['no-such-session', '--json'])).errorJson().error.code,
        'session_not_found',
      );

      const failed = uniqueName('rfail');
      await run('ao-new', [failed, '-p', 'FAIL here']);
      const f = await run('ao-get-result', [failed]);
      assert.equal(f.code, 1);
      assert.equal(f.stdout, '');
      assert.match(f.stderr, new RegExp(`^ao-get-result: Session '${failed}' failed \\(run 1\\): `));
    });
  });

  describe('ao-events, ao-show-config, ao-list-sessions', () => {
    it('ao-events lists what a session did; --type filters; --json parses', async () => {
      const name = uniqueName('events');
      await run('ao-new', [name, '-p', 'use a TOOL please']);
      const text = await run('ao-events', [name]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^#1 run 1 session_start /);
      assert.match(text.stdout, /pre_tool +Bash\(command="echo tool-ran", description="Say it"\)/);
      assert.match(text.stdout, /session_stop +completed \(exit 0\)\n$/);
      const tools = (await run('ao-events', [name, '--type', 'pre_tool', '--json'])).json().events;
      assert.equal(tools.length, 1);
      assert.equal(tools[0].data.tool, 'Bash');
      assert.deepEqual(tools[0].data.input, { command: 'echo tool-ran', description: 'Say it' });
      const followed = await run('ao-events', [name, '--follow', '--type', 'result']);
      assert.match(followed.stdout, /^#\d+ run 1 result +success, 2 turns/);
      assert.match(
        (await run('ao-events', [name, '--type', 'nope'])).stderr,
        /^ao-events: --type must be one of session_start, message/,
      );
    });

    it('ao-show-config shows agent, project dir, Claude session id, state and runs', async () => {
      const name = uniqueName('config');
      await run('ao-new', [name, '-p', 'x']);
      const config = (await run('ao-show-config', [name, '--json'])).json();
      assert.equal(config.name, name);
      assert.equal(config.state, 'finished');
      assert.equal(config.agent, null);
      assert.equal(config.project_dir, fixture.stack.projectDir);
      assert.match(config.claude_session_id, /^[0-9a-f-]{36}$/);
      assert.equal(config.runs, 1);
      const text = await run('ao-show-config', [name]);
      assert.match(
        text.stdout,
        new RegExp(
          `^name: +${name}\\nstate: +finished\\nagent: +-\\nproject_dir: +${fixture.stack.projectDir}\\nclaude_session_id: +${config.claude_session_id}\\nruns: +1\\n`,
        ),
      );
      assert.match(
        (await run('ao-show-config', ['ghost'])).stderr,
        /^ao-show-config: Session 'ghost' not found — see ao-list-sessions\n$/,
      );
    });

    it('ao-list-sessions lists sessions as a table, all their data with --json, filtered with --state', async () => {
      const name = uniqueName('listed');
      await run('ao-new', [name, '-p', 'to be listed']);
      const text = await run('ao-list-sessions', []);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /^NAME +STATE +AGENT +RUNS +COST +WALL TIME +PROJECT\n/);
      assert.match(
        text.stdout,
        new RegExp(
          `\\n${name} +finished +- +1 +\\$\\d+\\.\\d{4} +\\d+(\\.\\d)? (ms|s) +${fixture.stack.projectDir}\\n`,
        ),
      );
      const { sessions } = (await run('ao-list-sessions', ['--json'])).json();
      const listed = sessions.find((s: { name: string }) => s.name === name);
      assert.equal(listed.runs, 1);
      assert.equal(listed.last_run.state, 'finished');
      assert.equal(listed.runs[0]?.prompt, undefined, 'a summary, without prompts');
      const full = (await run('ao-list-sessions', ['--json', '--full', '--all']))
        .json()
        .sessions.find((s: { name: string }) => s.name === name);
      assert.equal(full.runs[0].prompt, 'to be listed');
      assert.equal(full.runs[0].result, 'ECHO: to be listed');
      assert.ok(listed.totals.usage.input_tokens > 0, 'usage is there for token reports');
      assert.ok(listed.totals.cost_usd > 0, 'cost is there');
      const failed = (await run('ao-list-sessions', ['--state', 'failed', '--json'])).json().sessions;
      assert.ok(failed.every((s: { state: string }) => s.state === 'failed'));
      assert.match(
        (await run('ao-list-sessions', ['--state', 'done'])).stderr,
        /^ao-list-sessions: --state must be one of queued, running, finished, failed, stopped, not 'done'\n$/,
      );
      assert.match(
        (await run('ao-list-sessions', ['--limit', '0'])).stderr,
        /^ao-list-sessions: --limit must be a whole number from 1 to 500, not '0'\n$/,
      );
    });

    it('ao-list-sessions pages: --limit shows one page and says there is more, --all walks them, filters combine', async () => {
      const prefix = uniqueName('paged');
      for (let i = 0; i < 3; i++) await run('ao-new', [`${prefix}-${i}`, '-p', 'x']);
      await run('ao-new', [`${prefix}-f`, '-p', 'FAIL here']);
      const one = await run('ao-list-sessions', ['--prefix', prefix, '--limit', '2']);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout.trim().split('\n').length, 3, 'a header and two sessions');
      assert.match(one.stdout, new RegExp(`^NAME.*\n${prefix}-f +failed `), 'the most recently active first');
      assert.match(
        one.stderr,
        /^2 shown; more on further pages \(all sessions: .*\d+ finished.*\) — --all lists every one/,
      );
      const all = (await run('ao-list-sessions', ['--prefix', prefix, '--limit', '2', '--all', '--json'])).json();
      assert.deepEqual(
        all.sessions.map((s: { name: string }) => s.name).sort(),
        [0, 1, 2]
          .map((i) => `${prefix}-${i}`)
          .concat(`${prefix}-f`)
          .sort(),
      );
      assert.equal(all.next_cursor, null);
      assert.ok(all.counts.finished >= 3);
      const page = (await run('ao-list-sessions', ['--prefix', prefix, '--limit', '3', '--json'])).json();
      assert.equal(page.sessions.length, 3);
      assert.equal(typeof page.next_cursor, 'string');
      const failedOrStopped = (
        await run('ao-list-sessions', ['--prefix', prefix, '--state', 'failed,stopped', '--json'])
      ).json().sessions;
      assert.deepEqual(
        failedOrStopped.map((s: { name: string }) => s.name),
        [`${prefix}-f`],
      );
      const none = await run('ao-list-sessions', ['--prefix', prefix, '--agent', 'nobody']);
      assert.deepEqual([none.code, none.stdout, none.stderr], [0, '', 'No sessions match.\n']);
    });
  });

  describe('ao-clean', () => {
    it('stops and deletes every session', async () => {
      const running = uniqueName('clean');
      await run('ao-new', [running, '-p', 'SLOW until cleaned', '--async']);
      const before = (await fixture.stack.client().sessions.list()).sessions.map((s) => s.name);
      const refused = await run('ao-clean', []);
      assert.deepEqual([refused.code, refused.stdout], [1, '']);
      assert.match(refused.stderr, /^ao-clean: Refusing to delete every session without confirmation — pass --yes/);
      assert.deepEqual(
        (await fixture.stack.client().sessions.list()).sessions.map((s) => s.name).sort(),
        [...before].sort(),
      );
      const r = await run('ao-clean', ['--yes', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([...r.json().deleted].sort(), [...before].sort());
      assert.equal((await run('ao-status', [running])).stdout, 'not_existent\n');
      const empty = await run('ao-list-sessions', []);
      assert.deepEqual([empty.code, empty.stdout], [0, '']);
      assert.match(empty.stderr, /No sessions — start one with ao-new/);
      assert.deepEqual((await run('ao-list-sessions', ['--json'])).json(), {
        sessions: [],
        next_cursor: null,
        counts: { queued: 0, running: 0, finished: 0, failed: 0, stopped: 0 },
      });
      assert.equal((await run('ao-clean', ['-y'])).stdout, 'No sessions to delete.\n');
    });
  });
});
