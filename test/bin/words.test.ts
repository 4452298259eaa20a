// What the commands say, read as a person who has never seen the API: what a stop or a delete did,
// names and runs that do not exist, flags instead of request fields, live figures marked as
// estimates, wall time. Real processes against the real servers; the agent behind the sessions is
// incidental: the fake agent (test/support/fake-agent.mjs) on the fake model.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claudeBin } from '../support/claude-env.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { eventually } from '../support/processes.js';
import { startRuntimeProcess } from '../support/runtime-process.js';
import { uniqueName, useStack } from './run-bin.js';

/** SLOW: a late answer; TOOL: a Bash call that takes a few seconds (its first reply is billed before it ends). */
function responder(req: FakeRequest): Reply {
  const prompt = req.lastUserText;
  if (req.toolResults.length) return { text: `tool said: ${req.toolResults[0]!.text.trim()}` };
  if (prompt.includes('TOOL'))
    return { toolUse: { name: 'Bash', input: { command: 'sleep 6; echo slept', description: 'Wait a bit' } } };
  if (prompt.includes('SLOW')) return { text: `ECHO: ${prompt}`, delayMs: 8000 };
  return { text: `ECHO: ${prompt}` };
}

describe('ao-* commands in the user’s words (processes against real servers)', function () {
  this.timeout(60_000);
  const fixture = useStack(responder, { agent: 'fake' });
  const { run } = fixture;
  const ao = () => fixture.stack.client();
  const running = (name: string) =>
    eventually(`${name} running`, async () => (await ao().sessions.status(name)).state === 'running');

  describe('ao-stop and ao-delete say what they did', () => {
    it('ao-stop of a session that has ended says nothing was running', async () => {
      const name = uniqueName('ended');
      assert.equal((await run('ao-new', [name, '-p', 'quick'])).code, 0);
      const r = await run('ao-stop', [name]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'finished\n');
      assert.equal(
        r.stderr,
        `Nothing was running: session '${name}' had already finished — continue it with ao-resume ${name} -p PROMPT\n`,
      );
      assert.deepEqual((await run('ao-stop', [name, '--json'])).json(), { name, state: 'finished', stopped: [] });
    });

    it('a stop a person asked for reads as such, not as the signal Claude Code was ended by', async () => {
      const name = uniqueName('stopme');
      assert.equal((await run('ao-new', [name, '-p', 'SLOW one', '--async'])).code, 0);
      await running(name);
      const stop = await run('ao-stop', [name]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(stop.stdout, 'stopped\n');
      const result = await run('ao-get-result', [name]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `ao-get-result: Session '${name}' was stopped (run 1): stopped on request (ao-stop, the dashboard or the API) — see its events with ao-events ${name}; continue it with ao-resume ${name} -p PROMPT\n`,
      );
      const events = await run('ao-events', [name, '--type', 'session_stop']);
      assert.match(events.stdout, /session_stop +stopped on request \(ao-stop, the dashboard or the API\)$/m);
      assert.doesNotMatch(events.stdout, /SIGTERM/);
    });

    it('ao-stop --tree names the sessions it stopped; ao-delete --tree the sessions it deleted', async () => {
      const lead = uniqueName('lead');
      const kid = uniqueName('kid');
      assert.equal((await run('ao-new', [lead, '-p', 'SLOW lead', '--async'])).code, 0);
      assert.equal((await run('ao-new', [kid, '-p', 'SLOW kid', '--async', '--parent', lead])).code, 0);
      const stop = await run('ao-stop', [lead, '--tree']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(stop.stdout, 'stopped\n');
      assert.equal(stop.stderr, `Stopped 2 sessions: ${lead}, ${kid}\n`);
      const again = await run('ao-stop', [lead, '--tree']);
      assert.equal(again.stderr, `Nothing was running: no session in the tree of '${lead}' was queued or running\n`);
      const deleted = await run('ao-delete', [lead, '--tree']);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout, `Deleted session '${lead}' and 1 session below it: ${kid}\n`);
      assert.equal((await run('ao-status', [kid])).stdout, 'not_existent\n');
    });
  });

  describe('names and runs that do not exist are said, exit 1', () => {
    it('ao-usage --session with an unknown name, or an empty item', async () => {
      const name = uniqueName('known');
      assert.equal((await run('ao-new', [name, '-p', 'quick'])).code, 0);
      const unknown = await run('ao-usage', ['--session', `${name},nosuch-session`]);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, "ao-usage: Session 'nosuch-session' not found — see ao-list-sessions\n");
      const empty = await run('ao-usage', ['--session', `${name},,nosuch`]);
      assert.equal(empty.code, 1);
      assert.equal(
        empty.stderr,
        `ao-usage: --session has an empty item in '${name},,nosuch' — separate the items with single commas\n`,
      );
    });

    it('ao-events --run past the last run', async () => {
      const name = uniqueName('runs');
      assert.equal((await run('ao-new', [name, '-p', 'quick'])).code, 0);
      const r = await run('ao-events', [name, '--run', '99']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `ao-events: Session '${name}' has 1 run, no run 99\n`);
    });

    it('ao-approvals says when nothing waits, and when the session does not exist', async () => {
      const none = await run('ao-approvals', []);
      assert.equal(none.code, 0, none.stderr);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /^No pending approval requests — /);
      const missing = await run('ao-approvals', ['--session', 'nosuch-session']);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, "ao-approvals: Session 'nosuch-session' not found — see ao-list-sessions\n");
    });
  });

  describe('flags, not request fields', () => {
    it('a list option takes commas or the flag again', async () => {
      const name = uniqueName('listed');
      assert.equal((await run('ao-new', [name, '-p', 'quick'])).code, 0);
      const twice = await run('ao-list-sessions', ['--state', 'stopped', '--state', 'finished', '--prefix', name]);
      assert.equal(twice.code, 0, twice.stderr);
      assert.match(twice.stdout, new RegExp(`^${name} +finished`, 'm'));
    });

    it('a prompt too long, a callback without a parent, a bad output schema name the flag', async () => {
      const long = await run('ao-new', [uniqueName('long')], { input: 'a'.repeat(1_000_001) });
      assert.equal(long.code, 1);
      assert.equal(long.stderr, 'ao-new: The prompt (-p or stdin): is too long: at most 1,000,000 characters\n');
      const orphan = await run('ao-new', [uniqueName('orphan'), '-p', 'x', '--async', '--callback']);
      assert.equal(orphan.code, 1);
      assert.match(orphan.stderr, /^ao-new: --callback reports to a parent session: give --parent NAME/);
      const schema = await run('ao-new', [uniqueName('schema'), '-p', 'x', '--output-schema', '{"type":"objec"}']);
      assert.equal(schema.code, 1);
      assert.equal(
        schema.stderr,
        'ao-new: --output-schema: is not a valid JSON Schema: type must be one of: array, boolean, integer, null, number, object, string\n',
      );
    });

    it('a wait that runs out says its time in seconds, as the flag took it', async () => {
      const name = uniqueName('wait');
      assert.equal((await run('ao-new', [name, '-p', 'SLOW wait', '--async'])).code, 0);
      const r = await run('ao-get-result', [name, '--wait', '--timeout', '1.5']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`^ao-get-result: Session '${name}' has not ended after 1.5 s — it keeps running`),
      );
      await run('ao-stop', [name]);
    });
  });

  describe('figures while a run goes', () => {
    it('cost so far is shown as an estimate, wall time counts from the start, exact once it ends', async () => {
      const name = uniqueName('live');
      assert.equal((await run('ao-new', [name, '-p', 'TOOL please', '--async'])).code, 0);
      // The first reply (the tool call) is billed; the tool then sleeps.
      const live = await eventually('a cost billed while the run goes', async () => {
        const [summary] = (await ao().sessions.list({ prefix: name })).sessions;
        return summary && summary.state === 'running' && summary.totals.cost_usd > 0 ? summary : undefined;
      });
      assert.equal(live.totals.estimated, true);
      assert.equal(live.totals.duration_ms, 0);
      assert.ok(live.totals.wall_ms > 0, 'wall time runs while the run goes');
      const listed = await run('ao-list-sessions', ['--prefix', name]);
      assert.match(listed.stdout, new RegExp(`^${name} +running +- +1 +~\\$0\\.\\d{4}`, 'm'));
      assert.match(listed.stderr, /^~ marks a cost so far, estimated/m);
      const usage = await run('ao-usage', ['--session', name, '--json']);
      assert.equal(usage.json().totals.estimated, true);
      assert.ok(usage.json().totals.cost_usd > 0);
      const tree = await run('ao-tree', [name]);
      assert.match(tree.stdout, new RegExp(`^${name}  running  ~\\$0\\.\\d{4}$`, 'm'));

      const result = await ao().sessions.waitForResult(name, { timeoutMs: 30_000 });
      assert.equal(result.state, 'finished', result.error ?? '');
      const ended = (await ao().sessions.get(name)).totals;
      assert.equal(ended.estimated, false);
      const run1 = (await ao().sessions.get(name)).runs[0]!;
      assert.equal(ended.wall_ms, Date.parse(run1.ended_at!) - Date.parse(run1.started_at!));
      assert.ok(ended.wall_ms >= 6000, `the tool slept 6 s: ${ended.wall_ms}`);
      const text = await run('ao-usage', ['--session', name]);
      assert.match(text.stdout, /WALL TIME/);
      assert.match(text.stdout, /wall time \(Claude Code's own measure: /);
      assert.doesNotMatch(text.stdout + text.stderr, /~/);
    });
  });
});

describe('the runtime warns at start about what would fail every run', function () {
  this.timeout(30_000);
  it('a Claude Code CLI that is not there, and root without IS_SANDBOX, with the advice a run would give', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aof-warn-'));
    try {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        AGENT_ORCHESTRATOR_DATA_DIR: join(dir, 'data'),
        AGENT_ORCHESTRATOR_SESSION_API_URL: 'http://127.0.0.1:0',
        AGENT_ORCHESTRATOR_CLAUDE_BIN: join(dir, 'no-claude-here'),
      };
      const runtime = await startRuntimeProcess({ env, cwd: dir });
      await runtime.stop();
      const warnings = runtime.log.filter((line) => / warn /.test(line));
      assert.ok(
        warnings.some((line) =>
          line.includes(
            `every run will fail until this is fixed: Claude Code CLI not found: '${join(dir, 'no-claude-here')}' is not an executable file or on PATH; install Claude Code or set AGENT_ORCHESTRATOR_CLAUDE_BIN`,
          ),
        ),
        runtime.log.join('\n'),
      );
      const asRoot = process.getuid?.() === 0;
      assert.equal(
        warnings.some((line) => line.includes('runs in bypassPermissions mode will fail: the runtime runs as root')),
        asRoot,
        runtime.log.join('\n'),
      );
      // With a CLI that is there and IS_SANDBOX set, nothing to warn about.
      const fine = await startRuntimeProcess({
        env: { ...env, AGENT_ORCHESTRATOR_CLAUDE_BIN: claudeBin, IS_SANDBOX: '1' },
        cwd: dir,
      });
      await fine.stop();
      assert.deepEqual(
        fine.log.filter((line) => / warn /.test(line)),
        [],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
