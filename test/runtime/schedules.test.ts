// Schedules in one runtime (the embedded store): an interval schedule fires new sessions and stops when
// paused, run-now fires once, overlap `skip` skips while the previous firing runs, a pre-check decides
// and feeds the prompt, failed firings in a row pause it, bad schedules are refused naming the field,
// and `ao-schedule` does all of it from the command line. The fake agent runs the sessions (the CLI adds
// nothing here); a resume schedule's test (the model sees the earlier turns) runs the real CLI.
import assert from 'node:assert/strict';
import type { Firing, Orchestrator, ScheduleDetail } from '../../sdk/index.js';
import { ApiError } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

const detail = (ao: Orchestrator, name: string) => ao.schedules.get(name);
const made = (d: ScheduleDetail, outcomes: Firing['outcome'][] = ['running', 'finished']) =>
  d.firings.filter((f) => outcomes.includes(f.outcome));

async function refused(promise: Promise<unknown>, status: number, field?: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, status);
    if (field)
      assert.ok(
        error.problem.errors?.some((e) => e.field === field),
        JSON.stringify(error.problem),
      );
    return true;
  });
}

describe('schedules', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let gate: Promise<void> | undefined;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake' });
    ao = stack.client();
    stack.fake.respond(async (req) => {
      if (req.lastUserText.includes('hold') && gate) await gate;
      if (req.lastUserText.includes('fail')) return { error: { status: 400, message: 'scripted failure' } };
      return { text: `done: ${req.lastUserText.slice(0, 200)}` };
    });
  });
  after(async () => {
    await stack?.close();
  });

  it('fires an interval schedule as new sessions named after it, and stops firing when paused', async () => {
    const created = await ao.schedules.create({ name: 'tick', every: '1s', prompt: 'Tick of {date} at {time}' });
    assert.equal(created.overlap, 'skip');
    assert.ok(created.next_fire_at);
    const fired = await eventually('two firings that finished', async () => {
      const d = await detail(ao, 'tick');
      return made(d, ['finished']).length >= 2 ? d : undefined;
    });
    for (const firing of made(fired, ['finished'])) {
      assert.match(firing.session!, /^tick-\d{8}-\d{6}$/);
      const session = await ao.sessions.get(firing.session!);
      assert.match(session.runs[0]!.prompt, /^Tick of \d{4}-\d{2}-\d{2} at \d{6}$/);
      assert.equal(session.state, 'finished');
    }
    const paused = await ao.schedules.pause('tick');
    assert.equal(paused.paused, true);
    const pausedAt = Date.now();
    // Past the time it would fire next, a firing asked for then is made: the loop has looked since.
    await eventually('a second past the pause', () => Date.now() > pausedAt + 1500);
    await ao.schedules.runNow('tick');
    const after = await eventually('the firing asked for to be made', async () => {
      const d = await detail(ao, 'tick');
      return d.firings.some((f) => f.manual && f.outcome === 'finished') ? d : undefined;
    });
    const late = after.firings.filter((f) => !f.manual && Date.parse(f.due_at) > pausedAt + 100);
    assert.deepEqual(late, [], 'no firing of its times after the pause');
    assert.equal(after.schedule.next_fire_at, null);
    await ao.schedules.delete('tick');
    await refused(ao.schedules.get('tick'), 404);
  });

  it('skips a firing while the previous one still runs (overlap skip)', async () => {
    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    await ao.schedules.create({ name: 'slow', every: '1s', prompt: 'hold on {time}' });
    const skipped = await eventually('a skipped firing while the first runs', async () => {
      const d = await detail(ao, 'slow');
      return d.firings.find((f) => f.outcome === 'skipped') ? d : undefined;
    });
    assert.equal(skipped.firings.find((f) => f.outcome === 'skipped')!.reason, 'the previous firing still runs');
    assert.equal(made(skipped).length, 1, 'one firing runs');
    await ao.schedules.pause('slow');
    release();
    await eventually(
      'the running firing to finish',
      async () => made(await detail(ao, 'slow'), ['finished']).length === 1,
    );
    gate = undefined;
  });

  it('fires only when the pre-check exits 0, with its output in the prompt', async () => {
    await ao.schedules.create({
      name: 'checked',
      every: '1h',
      prompt: 'New since last time: {check}',
      pre_check: {
        command: ['sh', '-c', 'echo "3 new issues; $(printf %s "$AGENT_ORCHESTRATOR_API_TOKEN" | wc -c) secret chars"'],
      },
    });
    await ao.schedules.runNow('checked');
    const fired = await eventually(
      'the checked firing',
      async () => made(await detail(ao, 'checked'), ['finished'])[0],
    );
    const session = await ao.sessions.get(fired.session!);
    assert.equal(session.runs[0]!.prompt, 'New since last time: 3 new issues; 0 secret chars');

    await ao.schedules.create({ name: 'nothing-new', every: '1h', prompt: 'go', pre_check: { command: ['false'] } });
    await ao.schedules.runNow('nothing-new');
    const skipped = await eventually('the refused firing', async () =>
      (await detail(ao, 'nothing-new')).firings.find((f) => f.outcome === 'skipped'),
    );
    assert.equal(skipped.reason, 'pre-check said no (exit 1)');
    assert.equal(skipped.session, null);
  });

  it('pauses a schedule after failed firings in a row', async () => {
    await ao.schedules.create({ name: 'flaky', every: '1s', prompt: 'fail please', pause_after_failures: 2 });
    const paused = await eventually('the schedule to pause itself', async () => {
      const { schedule } = await detail(ao, 'flaky');
      return schedule.paused ? schedule : undefined;
    });
    assert.equal(paused.failures_in_row, 2);
    assert.equal(paused.paused_reason, 'paused after 2 failed firings in a row');
    const resumed = await ao.schedules.resume('flaky');
    assert.equal(resumed.paused, false);
    assert.equal(resumed.failures_in_row, 0);
    await ao.schedules.delete('flaky');
  });

  it('refuses schedules that could never fire, naming the field', async () => {
    await refused(ao.schedules.create({ name: 'x', prompt: 'p' }), 422, 'body.cron');
    await refused(ao.schedules.create({ name: 'x', prompt: 'p', cron: '0 3 * * *', every: '1h' }), 422, 'body.cron');
    await refused(ao.schedules.create({ name: 'x', prompt: 'p', cron: 'nope' }), 422, 'body.cron');
    await refused(ao.schedules.create({ name: 'x', prompt: 'p', cron: '0 3 * * *', tz: 'Mars/Base' }), 422, 'body.tz');
    await refused(ao.schedules.create({ name: 'x', prompt: 'p', every: 'soon' }), 422, 'body.every');
    await refused(ao.schedules.create({ name: 'x', prompt: 'p', every: '1h', session: 'nobody' }), 422, 'body.session');
    await refused(
      ao.schedules.create({ name: 'x', prompt: 'p', every: '1h', session: 'a', agent: 'b' }),
      422,
      'body.agent',
    );
    await refused(
      ao.schedules.create({ name: 'x', prompt: 'p', every: '1h', session_name: '{schedule} {date}' }),
      422,
      'body.session_name',
    );
    await refused(
      ao.schedules.create({ name: 'x', prompt: 'p', every: '1h', agent: 'no-such-agent' }),
      422,
      'body.agent',
    );
    await ao.schedules.create({ name: 'twice', prompt: 'p', every: '1h', paused: true });
    await refused(ao.schedules.create({ name: 'twice', prompt: 'p', every: '1h' }), 409);
    await refused(ao.schedules.pause('nobody'), 404);
    assert.deepEqual(
      (await ao.schedules.list()).map((s) => s.name).filter((n) => n === 'x'),
      [],
    );
  });

  it('ao-schedule adds, lists, shows, fires, pauses, resumes and deletes', async () => {
    const env = stack.clientEnv;
    const add = await runBin(
      'ao-schedule',
      [
        'add',
        'cli',
        '--every',
        '1h',
        '--session-name',
        '{schedule}-{stamp}-x',
        '-p',
        'From the CLI at {date}',
        '--overlap',
        'queue_one',
      ],
      { env },
    );
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^cli {2}every 1h {2}new session {2}next \S+ {2}never fired/);
    const list = await runBin('ao-schedule', ['list', '--json'], { env });
    assert.ok(
      list
        .json()
        .schedules.some((s: { name: string; overlap: string }) => s.name === 'cli' && s.overlap === 'queue_one'),
    );
    assert.equal((await runBin('ao-schedule', ['run-now', 'cli'], { env })).code, 0);
    await eventually('the CLI firing', async () => made(await detail(ao, 'cli'), ['finished']).length === 1);
    const show = await runBin('ao-schedule', ['show', 'cli'], { env });
    assert.match(show.stdout, /finished {2}cli-\d{8}-\d{6}-x {2}\(run-now\)/);
    assert.match((await runBin('ao-schedule', ['pause', 'cli'], { env })).stdout, /paused/);
    assert.match((await runBin('ao-schedule', ['resume', 'cli'], { env })).stdout, /next /);
    const bad = await runBin('ao-schedule', ['add', 'bad', '--cron', '0 3 * * *', '--tz', 'Mars/Base', '-p', 'p'], {
      env,
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^ao-schedule: .*--tz.*IANA time zone/);
    const unknown = await runBin('ao-schedule', ['explode', 'cli'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unknown action 'explode'/);
    assert.equal((await runBin('ao-schedule', ['delete', 'cli'], { env })).code, 0);
    const gone = await runBin('ao-schedule', ['show', 'cli'], { env });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /Schedule 'cli' not found/);
  });
});

describe('schedules with Claude Code', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start();
    ao = stack.client();
  });
  after(async () => {
    await stack?.close();
  });

  it('resumes one session at each firing: the model sees the earlier turns', async () => {
    const seen: string[][] = [];
    stack.fake.respond((req) => {
      const texts = req.body.messages
        .filter((m) => m.role === 'user')
        .map((m) => (typeof m.content === 'string' ? m.content : m.content.map((b) => b.text ?? '').join(' ')));
      seen.push(texts);
      return { text: `turn ${seen.length}` };
    });
    await ao.sessions.create({ name: 'triage', prompt: 'Remember the word PELICAN' });
    await ao.sessions.waitForResult('triage');
    await ao.schedules.create({
      name: 'triage-tick',
      every: '1s',
      session: 'triage',
      prompt: 'Anything new since {last_run}?',
    });
    const d = await eventually(
      'two resumed runs that finished',
      async () => {
        const got = await detail(ao, 'triage-tick');
        return made(got, ['finished']).length >= 2 ? got : undefined;
      },
      60_000,
    );
    await ao.schedules.pause('triage-tick');
    const session = await ao.sessions.get('triage');
    assert.ok(session.runs.length >= 3);
    assert.ok(made(d, ['finished']).every((f) => f.session === 'triage' && f.run! >= 2));
    // The second firing's prompt names when the first one ran; the model had every earlier turn.
    const firstFire = made(d, ['finished']).at(-1)!.fired_at!;
    assert.equal(session.runs[1]!.prompt, 'Anything new since never?');
    assert.match(session.runs[2]!.prompt, /^Anything new since \d{4}-\d{2}-\d{2}T/);
    assert.ok(firstFire);
    const third = seen.find((texts) => texts.some((t) => t.includes(session.runs[2]!.prompt)))!;
    assert.ok(
      third.some((t) => t.includes('PELICAN')),
      'the first turn is in the conversation',
    );
    assert.ok(
      third.some((t) => t.includes('Anything new since never?')),
      'the first firing is too',
    );
  });
});
