// The account's usage limit, on the real Claude Code against the fake model: a run that hits it ends
// `stopped` with the reset time (not `failed`), waits, and is resumed by the runtime after the reset in
// the same conversation, and finishes; another run of the same account queued meanwhile is held until
// then; a session that opts out is left stopped with the reason; without a reset time the runtime backs
// off and retries, a bounded number of times. The CLI logs in as a subscription
// (CLAUDE_CODE_OAUTH_TOKEN): only then does it print the API's reset time (a `rate_limit_event`).
import assert from 'node:assert/strict';
import type { Orchestrator, Session } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { call, stdioClient } from '../mcp/support/mcp-client.js';
import { usageLimitReply } from '../support/fake-model.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

const last = (session: Session) => session.runs[session.runs.length - 1]!;
/**
 * The reset time as the runtime words it: its hour and minute, then `:SS` unless the seconds are `00`,
 * after the date when the reset falls on another day than the run's end (a run near midnight).
 */
const clock = (at: number) => `(\\d{4}-\\d\\d-\\d\\d )?${new Date(at).toISOString().slice(11, 16)}(:\\d\\d)? UTC`;

describe('usage limits (real Claude Code)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;
  /**
   * When the fake's limit resets (ms, whole seconds as the header carries them): 10 s after the first
   * request of a LIMIT prompt; until then every request of one gets the 429. The window holds both LIMIT
   * sessions' first requests and the queueing of the held session, with room for a loaded machine (the
   * test waits for the reset, it does not spend CPU on it).
   */
  let resetsAt = 0;
  /** When the model was first asked for each session's prompt marker. */
  const firstAsked = new Map<string, number>();

  before(async () => {
    stack = await TestStack.start({
      subscription: true,
      usageLimits: { marginMs: 0, backoffMs: 300, maxAttempts: 1 },
    });
    ao = stack.client();
    stack.fake.respond((req) => {
      const marker = /\b(LIMIT-\w+|HELD-\w+|NORESET-\w+)\b/.exec(JSON.stringify(req.body.messages))?.[1];
      if (marker && !firstAsked.has(marker)) firstAsked.set(marker, Date.now());
      if (marker?.startsWith('NORESET')) return usageLimitReply(undefined);
      if (marker?.startsWith('LIMIT') && !resetsAt) resetsAt = (Math.floor(Date.now() / 1000) + 10) * 1000;
      if (marker?.startsWith('LIMIT') && Date.now() < resetsAt) return usageLimitReply(resetsAt);
      const seen = req.body.messages.filter((m) => m.role === 'user').length;
      return { text: `done (${seen} user turns): ${req.lastUserText.slice(0, 80)}` };
    });
  });
  after(async () => {
    await stack?.close();
  });

  it('ends a limited run stopped with the reset time, holds the account, and resumes it after the reset', async () => {
    await ao.sessions.create({ name: 'limited', prompt: 'Count the files. LIMIT-a' });
    await ao.sessions.create({ name: 'opted-out', prompt: 'Count the lines. LIMIT-b', resume_after_limit: false });
    const limited = await eventually(
      'the run stopped on the limit',
      async () => {
        const s = await ao.sessions.get('limited');
        assert.notEqual(s.state, 'finished', 'the run reached the model only after the reset');
        return s.state === 'stopped' ? s : undefined;
      },
      60_000,
    );
    const limit = limited.runs[0]!.usage_limit!;
    assert.equal(limited.runs.length, 1);
    assert.equal(limit.resets_at, new Date(resetsAt).toISOString());
    assert.equal(limit.resume_at, limit.resets_at, 'resumed at the reset (no margin in this test)');
    assert.equal(limit.kind, 'five_hour');
    assert.match(
      limited.runs[0]!.error!,
      new RegExp(`^hit the usage limit \\(five hour\\); resumes at ${clock(resetsAt)}$`),
    );

    // Another session of the same account queued now waits for the reset.
    const queued = await ao.sessions.create({ name: 'held', prompt: 'Say hello. HELD-c' });
    assert.ok(
      Date.parse(queued.runs[0]!.queued_at) < resetsAt,
      'queued before the reset (else the machine is too slow)',
    );

    const resumed = await eventually(
      'the limited session resumed and finished',
      async () => {
        const s = await ao.sessions.get('limited');
        return s.state === 'finished' ? s : undefined;
      },
      60_000,
    );
    assert.equal(resumed.runs.length, 2);
    assert.equal(resumed.runs[0]!.state, 'stopped');
    assert.match(resumed.runs[1]!.prompt, /usage limit interrupted your last turn[\s\S]*Count the files\. LIMIT-a$/);
    // The same conversation: the model sees the first turn's prompt and the resume's.
    assert.match(resumed.runs[1]!.result!, /^done \([2-9] user turns\)/);
    assert.ok(Date.parse(resumed.runs[1]!.queued_at) >= resetsAt, 'resumed after the reset, not before');

    const held = await eventually(
      'the held session finished',
      async () => {
        const s = await ao.sessions.get('held');
        return s.state === 'finished' ? s : undefined;
      },
      60_000,
    );
    assert.ok(
      firstAsked.get('HELD-c')! >= resetsAt,
      `the held run reached the model ${resetsAt - firstAsked.get('HELD-c')!} ms before the reset`,
    );
    assert.ok(Date.parse(held.runs[0]!.started_at!) >= resetsAt);

    // Opted out: left stopped with the reason and the reset time, never resumed.
    const optedOut = await ao.sessions.get('opted-out');
    assert.equal(optedOut.state, 'stopped');
    assert.equal(optedOut.runs.length, 1);
    assert.equal(optedOut.resume_after_limit, false);
    assert.equal(last(optedOut).usage_limit?.resume_at, null);
    assert.match(last(optedOut).error!, /hit the usage limit .*not resumed \(resume_after_limit is off\)/);
    // The commands say it in words.
    const status = await runBin('ao-status', ['opted-out'], { env: stack.clientEnv });
    assert.match(
      status.stdout,
      new RegExp(`^stopped \\(hit the usage limit \\(five hour\\); it resets at ${clock(resetsAt)}; not resumed`),
    );
    const statusJson = (await runBin('ao-status', ['opted-out', '--json'], { env: stack.clientEnv })).json();
    assert.equal(statusJson.usage_limit.resets_at, new Date(resetsAt).toISOString());
    const { client } = await stdioClient(stack.clientEnv);
    try {
      const answer = await call(client, 'get_agent_session_status', { name: 'opted-out' });
      assert.equal(answer.structured.state, 'stopped');
      assert.equal(answer.structured.resume_at, null);
      assert.match(answer.text, /hit the usage limit .*not resumed/);
    } finally {
      await client.close();
    }
    const events = await runBin('ao-events', ['limited', '--run', '1'], { env: stack.clientEnv });
    const resetSeconds = new Date(resetsAt).toISOString().slice(11, 19);
    assert.match(events.stdout, new RegExp(`result +error, .*hit the usage limit; it resets at ${resetSeconds} UTC`));
    assert.match(
      events.stdout,
      new RegExp(`session_stop +hit the usage limit \\(five hour\\); resumes at ${clock(resetsAt)}`),
    );
  });

  it('without a reset time, backs off and retries a bounded number of times', async () => {
    await ao.sessions.create({ name: 'no-reset', prompt: 'Look around. NORESET-d' });
    const given = await eventually(
      'the retries given up',
      async () => {
        const s = await ao.sessions.get('no-reset');
        return s.state === 'stopped' && s.runs.length === 2 ? s : undefined;
      },
      60_000,
    );
    const [first, second] = given.runs;
    assert.equal(first!.usage_limit?.resets_at, null);
    assert.equal(first!.usage_limit?.attempt, 1);
    assert.match(first!.error!, /without a reset time; retry 1 of 1 at /);
    assert.equal(second!.usage_limit?.attempt, 2);
    assert.equal(second!.usage_limit?.resume_at, null);
    assert.match(second!.error!, /gave up after 1 retries/);
  });
});
