// The stall watchdog: a run of a blueprint with `stall_after_seconds` that goes silent (the fake model
// hangs on its request) is found stalled; `nudge` stops it with the reason and resumes the session in
// the same conversation with a status question, which the agent answers; `notify` records the
// `stalled` event and lets the run go on. The fake agent runs the sessions (the CLI adds nothing here).
import assert from 'node:assert/strict';
import type { Orchestrator, StalledData } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

describe('stall watchdog', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ao: Orchestrator;
  /** Hung requests end when the test lets them (or when the agent goes away). */
  let release: () => void = () => {};

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', stallCheckMs: 100 });
    ao = stack.client();
    const released = new Promise<void>((resolve) => (release = resolve));
    stack.fake.respond(async (req) => {
      const texts = JSON.stringify(req.body.messages);
      // The first turn hangs; a nudge (or anything after the first turn) is answered.
      if (/HANG/.test(req.lastUserText)) {
        await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 30_000))]);
        return { text: 'finally done' };
      }
      const turns = (texts.match(/HANG/g) ?? []).length;
      return { text: `status: still on it (saw the first turn ${turns} time(s))` };
    });
    await ao.agents.create({
      name: 'nudged',
      description: 'Nudged when silent',
      stall_after_seconds: 1,
      stall_action: 'nudge',
    });
    await ao.agents.create({ name: 'watched', description: 'Reported when silent', stall_after_seconds: 1 });
  });
  after(async () => {
    release();
    await stack?.close();
  });

  it('nudges a stalled run: stops it with the reason and resumes with a status question', async () => {
    await ao.sessions.create({ name: 'quiet', agent: 'nudged', prompt: 'Build it. HANG' });
    const nudged = await eventually(
      'the nudge answered',
      async () => {
        const s = await ao.sessions.get('quiet');
        return s.state === 'finished' && s.runs.length === 2 ? s : undefined;
      },
      30_000,
    );
    const [first, second] = nudged.runs;
    assert.equal(first!.state, 'stopped');
    assert.ok(first!.stalled_at);
    assert.match(first!.error!, /^stalled: no event for \d+ s .*resumed with a status question$/);
    assert.equal(first!.stopped_by, null);
    assert.match(second!.prompt, /where do you stand/);
    // The same conversation: the model saw the first turn's prompt with the nudge.
    assert.equal(second!.result, 'status: still on it (saw the first turn 1 time(s))');
    const { events } = await ao.sessions.listEvents('quiet');
    const stalled = events.filter((e) => e.type === 'stalled');
    assert.equal(stalled.length, 1);
    assert.equal(stalled[0]!.run, 1);
    const data = stalled[0]!.data as StalledData;
    assert.equal(data.action, 'nudge');
    assert.ok(data.silent_seconds >= 1);
    const line = await runBin('ao-events', ['quiet', '--type', 'stalled'], { env: stack.clientEnv });
    assert.match(
      line.stdout + line.stderr,
      /run 1 stalled +no event for \d+ s: stalled, stopped by the watchdog and resumed with a status question/,
    );
  });

  it('notifies: records the stalled event once and lets the run go on', async () => {
    await ao.sessions.create({ name: 'slow', agent: 'watched', prompt: 'Think hard. HANG' });
    await eventually('the stalled event', async () => {
      const { events } = await ao.sessions.listEvents('slow');
      return events.some((e) => e.type === 'stalled');
    });
    assert.equal((await ao.sessions.get('slow')).state, 'running');
    const status = await runBin('ao-status', ['slow'], { env: stack.clientEnv });
    assert.match(
      status.stdout,
      /^running \(stalled at (\d{4}-\d\d-\d\d )?\d\d:\d\d(:\d\d)? UTC: no event for its stall_after_seconds\)/,
    );
    release();
    const done = await eventually('the run finished', async () => {
      const s = await ao.sessions.get('slow');
      return s.state === 'finished' ? s : undefined;
    });
    assert.equal(done.runs.length, 1);
    assert.equal(done.runs[0]!.result, 'finally done');
    const { events } = await ao.sessions.listEvents('slow');
    assert.equal(events.filter((e) => e.type === 'stalled').length, 1);
  });
});
