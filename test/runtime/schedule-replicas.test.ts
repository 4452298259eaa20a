// Schedules on two runtime processes sharing one real PostgreSQL, each running the fake agent against
// the fake model (what is checked is the firings; schedules.test.ts runs the real CLI): over 50 firings of a one-second schedule, each firing is made exactly once
// (one firing per nominal time, none lost, one session each), also while either process is SIGKILLed
// and started again; and firings due while both were down are caught up once, the rest counted missed.
import assert from 'node:assert/strict';
import type { Orchestrator } from '../../sdk/index.js';
import { claudeChildEnv, fakeAgentBin } from '../support/claude-env.js';
import { startFakeModel, type FakeModel } from '../support/fake-model.js';
import { eventually } from '../support/processes.js';
import { freshDatabase, queryDatabase } from '../support/postgres.js';
import { clientOf, printLogsWhenATestFails, startReplica, type Replica } from '../support/replicas.js';
import { removeDir, tempDir } from '../support/servers.js';
import { ON_TIME_MS } from '../../servers/runtime/schedule-rules.js';

interface FiringRow {
  id: string;
  due_at: Date;
  outcome: string;
  session: string | null;
  reason: string | null;
}

const MADE = ['running', 'finished', 'failed', 'stopped'];

describe('schedules on two runtime processes on one PostgreSQL', function () {
  this.timeout(300_000);
  let databaseUrl: string;
  let fake: FakeModel;
  let configDir: string;
  let a: Replica | undefined;
  let b: Replica | undefined;
  let ao: Orchestrator;
  /** Every replica started, killed ones included: `stop` removes each one's data dir at the end. */
  const started: Replica[] = [];
  const start = async () => {
    const replica = await startReplica(databaseUrl, {
      ...claudeChildEnv(fake.url, configDir),
      AGENT_ORCHESTRATOR_EXECUTOR: 'local',
      AGENT_ORCHESTRATOR_CLAUDE_BIN: fakeAgentBin,
      // Claims on firings (and runs) last this long: a killed process's firing is taken over soon.
      AGENT_ORCHESTRATOR_LEASE_SECONDS: '3',
    });
    started.push(replica);
    return replica;
  };
  const firings = (schedule: string) =>
    queryDatabase<FiringRow>(
      databaseUrl,
      `SELECT id, due_at, outcome, session, reason FROM aof_firings WHERE schedule = '${schedule}' ORDER BY due_at, id`,
    );
  const made = async (schedule: string) => (await firings(schedule)).filter((f) => MADE.includes(f.outcome));

  before(async () => {
    databaseUrl = await freshDatabase();
    fake = await startFakeModel();
    fake.respond((req) => ({ text: `seen: ${req.lastUserText}` }));
    configDir = await tempDir('aof-claude-');
    [a, b] = await Promise.all([start(), start()]);
    ao = clientOf(a);
  });
  printLogsWhenATestFails(() => ({ A: a, B: b }));
  after(async () => {
    await ao?.sessions.clean().catch(() => undefined);
    await Promise.all(started.map((replica) => replica.stop()));
    await fake?.close();
    if (configDir) await removeDir(configDir);
  });

  it('makes each of 50 firings once, across a SIGKILL of either process', async () => {
    await ao.schedules.create({ name: 'tick', every: '1s', overlap: 'allow', prompt: 'tick {stamp}' });
    const atLeast = (n: number) =>
      eventually(`${n} firings made`, async () => (await made('tick')).length >= n, 120_000);
    await atLeast(12);
    await a!.kill();
    ao = clientOf(b!);
    await atLeast(20);
    a = await start();
    await atLeast(30);
    await b!.kill();
    ao = clientOf(a);
    await atLeast(38);
    b = await start();
    await atLeast(50);
    await ao.schedules.pause('tick');

    const all = await firings('tick');
    const done = all.filter((f) => MADE.includes(f.outcome));
    // A firing that fell due as the pause came is skipped for it: after the last one made, that is right.
    const last = Math.max(...done.map((f) => f.due_at.getTime()));
    const pausedAfter = (f: FiringRow) =>
      f.outcome === 'skipped' && f.reason === 'the schedule is paused' && f.due_at.getTime() > last;
    assert.deepEqual(
      all
        .filter((f) => !MADE.includes(f.outcome) && f.outcome !== 'pending' && !pausedAfter(f))
        .map((f) => `${f.outcome}: ${f.reason}`),
      [],
      'no firing skipped, missed or in error',
    );
    // One firing per second from the first to the last: none lost, none twice.
    const seconds = done.map((f) => f.due_at.getTime());
    for (let i = 1; i < seconds.length; i++)
      assert.equal(seconds[i]! - seconds[i - 1]!, 1000, `firing ${i} follows the one before`);
    // One session each, each with one run: no firing started two sessions, nor one session twice.
    const sessions = done.map((f) => f.session!);
    assert.equal(new Set(sessions).size, sessions.length);
    const stored = await queryDatabase<{ name: string; runs: number }>(
      databaseUrl,
      `SELECT s.name, (SELECT count(*)::int FROM aof_runs r WHERE r.session = s.name) AS runs
       FROM aof_sessions s WHERE s.name LIKE 'tick-%'`,
    );
    assert.deepEqual(stored.map((s) => s.name).sort(), [...sessions].sort());
    assert.ok(stored.every((s) => s.runs === 1));
    const { schedule } = await ao.schedules.get('tick');
    assert.equal(schedule.fired, done.length);
    assert.equal(schedule.missed, 0);
  });

  it('catches up once a firing due while every process was down, and counts the others as missed', async () => {
    // Its last firings fall due while both processes are down, and are all late when they come back.
    const endAt = Date.now() + 6000;
    await ao.schedules.create({
      name: 'gap',
      every: '1s',
      overlap: 'allow',
      prompt: 'gap {stamp}',
      end_at: new Date(endAt).toISOString(),
    });
    await eventually('a first firing', async () => (await made('gap')).length >= 1, 30_000);
    await Promise.all([a!.kill(), b!.kill()]);
    const before = (await made('gap')).at(-1)!.due_at.getTime();
    assert.ok(before < endAt - 1000, 'firings are left to miss');
    await eventually('the last firing to be late', () => Date.now() > endAt + ON_TIME_MS + 1000, 30_000);
    [a, b] = await Promise.all([start(), start()]);
    ao = clientOf(a);
    const { schedule } = await eventually('the schedule to have no firing left', async () => {
      const detail = await ao.schedules.get('gap');
      return detail.schedule.next_fire_at === null && detail.schedule.missed > 0 ? detail : undefined;
    });
    const after = await eventually('the caught-up firing to be made', async () => {
      const rows = (await firings('gap')).filter((f) => f.due_at.getTime() > before);
      return rows.some((f) => f.outcome === 'pending') ? undefined : rows;
    });
    const caught = after.filter((f) => MADE.includes(f.outcome));
    assert.equal(caught.length, 1, `one firing caught up: ${JSON.stringify(after)}`);
    // The latest one that fell due, before the end.
    assert.ok(caught[0]!.due_at.getTime() <= endAt && caught[0]!.due_at.getTime() > endAt - 1000);
    const missed = after.filter((f) => f.outcome === 'missed');
    assert.equal(missed.length, 1);
    const due = Math.round((caught[0]!.due_at.getTime() - before) / 1000);
    assert.equal(schedule.missed, due - 1);
    assert.equal(
      missed[0]!.reason,
      `${due - 1} firing${due - 1 === 1 ? '' : 's'} due while no runtime was up (of those, only the latest within the catch-up window is made)`,
    );
  });
});
