// aof across hosts, with real parts only: 2 runtime replicas (`aof runtime`, no executor of their own)
// on one PostgreSQL, and 3 runners (`aof runner`), each in its own network namespace with its own home
// and Claude Code config dir (test/support/hosts.ts), running the pinned Claude Code CLI against the fake
// model. 8 sessions are run and resumed across them; mid-run, one replica and one runner are SIGKILLed.
// Eight fill the six agent slots of turn 2 (RUNNER_MAX per runner) and leave two queued through the kills.
// The scenario runs once (`before`); each `it` checks one promise about its outcome.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Orchestrator } from '../../sdk/index.js';
import type { Event, Session } from '../../sdk/types.js';
import { claudeBin, repoRoot } from '../support/claude-env.js';
import { startFakeModel, type FakeModel } from '../support/fake-model.js';
import { createHosts, oneHostsFileAtATime, type Host, type Hosts } from '../support/hosts.js';
import { freshDatabase } from '../support/postgres.js';
import { followEvents, type StreamedEvent } from '../support/replicas.js';
import { eventually } from '../support/processes.js';
import { startRuntimeProcess, type RuntimeProcess } from '../support/runtime-process.js';
import { deadUrl, removeDir, tempDir } from '../support/servers.js';

const TOKEN = 'multi-host-test-token';
/** How the replicas run (docs/scale-out.md): no executor of their own, and short leases so a lost runner shows soon. */
const REPLICA_ENV = { AGENT_ORCHESTRATOR_EXECUTOR: 'none', AGENT_ORCHESTRATOR_LEASE_SECONDS: '3' };
const RUNNER_MAX = 2;
/** A turn-2 answer takes this long: the kills land while runs are in flight. */
const SLOW_TURN_MS = 3000;

const NAMES = Array.from({ length: 8 }, (_, i) => `mh-${String(i + 1).padStart(2, '0')}`);
const promptOf = (name: string, turn: number) => `${name} turn ${turn}`;
const FINAL = new Set(['finished', 'failed', 'stopped']);

/** One request the fake model answered: which prompt, from which host, with which history. */
interface ModelCall {
  prompt: string;
  remote: string;
  history: string;
}

interface Runner {
  host: Host;
  name: string;
  child: ChildProcess;
  log: string[];
}

describe('multi-host: 2 runtime replicas and 3 runner hosts on one PostgreSQL', function () {
  this.timeout(150_000);

  const calls: ModelCall[] = [];
  let root: string;
  let hosts: Hosts;
  let fake: FakeModel;
  let replicas: RuntimeProcess[] = [];
  let runners: Runner[] = [];
  /** Client of replica B, which survives. */
  let survivor: Orchestrator;
  /** Per session: what an SSE client got from replica A until it was killed, then from B. */
  const onA = new Map<string, Follow>();
  const onB = new Map<string, Follow>();
  /** Per session: the events B lists at the end. */
  const stored = new Map<string, Event[]>();
  const sessions = new Map<string, Session>();
  /** Sessions whose turn 2 ran on the killed runner. */
  let lost: string[] = [];

  // Its clean-up runs before the hosts lock is released (after every test).
  oneHostsFileAtATime(async () => {
    await Promise.all([...onA.values(), ...onB.values()].map((follow) => follow.close()));
    await Promise.all(replicas.map((replica) => replica.stop()));
    await hosts?.close(); // the runners and their agents go with their namespaces
    await fake?.close();
    if (root) await removeDir(root);
  });

  before(async () => {
    root = await tempDir('aof-multi-host-');
    const project = join(root, 'project');
    await mkdir(project);
    hosts = await createHosts(3);
    fake = await startFakeModel({
      hosts: hosts.hostEnds,
      responder: (req) => {
        calls.push({ prompt: req.lastUserText, remote: req.remote ?? '', history: JSON.stringify(req.body.messages) });
        const turn = Number(/ turn (\d+)$/.exec(req.lastUserText)?.[1]);
        return { text: `ECHO: ${req.lastUserText}`, delayMs: turn === 2 ? SLOW_TURN_MS : 50 };
      },
    });
    const databaseUrl = await freshDatabase();
    const registry = await deadUrl(); // sessions without blueprints: the registry is never asked

    // Replica A listens on host 1's end, B on host 2's: every namespace reaches both.
    replicas = await Promise.all(
      hosts.hosts.slice(0, 2).map(async (host, i) => {
        const dataDir = join(root, `replica-${'AB'[i]}`);
        await mkdir(dataDir);
        return startRuntimeProcess({
          cwd: dataDir,
          label: `replica ${'AB'[i]}`,
          env: {
            PATH: process.env.PATH ?? '',
            AGENT_ORCHESTRATOR_SESSION_API_URL: `http://${host.hostEnd}:0`,
            AGENT_ORCHESTRATOR_AGENT_API_URL: registry,
            AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
            AGENT_ORCHESTRATOR_DATABASE_URL: databaseUrl,
            AGENT_ORCHESTRATOR_API_TOKEN: TOKEN,
            ...REPLICA_ENV,
          },
        });
      }),
    );
    const [a, b] = replicas.map((r) => r.url) as [string, string];
    const client = (url: string) =>
      new Orchestrator({ runtimeUrl: url, registryUrl: registry, token: TOKEN, parent: null });
    const clients = [client(a), client(b)] as const;
    survivor = clients[1];

    // Runner K on host K; runner 2 (the one killed) prefers B, the others A, so both fail-overs happen.
    runners = hosts.hosts.map((host) => {
      const name = `runner-${host.position}`;
      const urls = host.position === 2 ? `${b},${a}` : `${a},${b}`;
      const child = host.spawn(
        process.execPath,
        [join(repoRoot, 'dist/bin/aof.js'), 'runner', '--runtime', urls, '--name', name, '--max', String(RUNNER_MAX)],
        {
          env: {
            ...host.claudeEnv(fake.urlOn(host.hostEnd)),
            AGENT_ORCHESTRATOR_API_TOKEN: TOKEN,
            AGENT_ORCHESTRATOR_CLAUDE_BIN: claudeBin,
          },
        },
      );
      const log: string[] = [];
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          log.push(line);
          if (process.env.AOF_TEST_LOGS) process.stderr.write(`[${name}] ${line}\n`);
        });
      }
      return { host, name, child, log };
    });

    try {
      // Turn 1: 8 sessions, created alternately through A and B.
      await Promise.all(
        NAMES.map((name, i) =>
          clients[i % 2]!.sessions.create({ name, prompt: promptOf(name, 1), project_dir: project }),
        ),
      );
      await allFinal(1);

      // SSE clients on A, from the start of each session, until its turn 2 has ended.
      for (const name of NAMES) onA.set(name, follow(a, name, runEnd(2)));
      // Turn 2, resumed through the other replica than the one that created the session.
      await Promise.all(
        NAMES.map((name, i) => clients[(i + 1) % 2]!.sessions.resume(name, { prompt: promptOf(name, 2) })),
      );

      // Mid-run: once runner 2 and another runner are inside a turn-2 model request, kill replica A and runner 2.
      const killed = runners[1]!;
      await eventually(
        'turn-2 runs in flight on runner 2 and on another runner',
        () => {
          const turn2 = calls.filter((c) => c.prompt.endsWith(' turn 2'));
          return (
            turn2.some((c) => c.remote === killed.host.address) && turn2.some((c) => c.remote !== killed.host.address)
          );
        },
        60_000,
      );
      await Promise.all([
        replicas[0]!.kill(),
        new Promise((resolve) => {
          killed.child.once('exit', resolve);
          killed.child.kill('SIGKILL');
        }),
      ]);

      // The SSE clients cut off on A come back on B, from the last event they saw.
      for (const name of NAMES) {
        const cut = onA.get(name)!;
        if (await cut.done) continue;
        onB.set(name, follow(b, name, runEnd(2), cut.events.at(-1)?.seq ?? 0));
      }
      await allFinal(2);
      const cut = [...onB.values()].map((follow) => follow.done);
      assert.deepEqual(
        await Promise.all(cut),
        cut.map(() => true),
        'every SSE client resumed on B saw its turn 2 end',
      );

      // The sessions whose turn 2 was lost with runner 2 are resumed once more, on the runners left.
      lost = NAMES.filter((name) => sessions.get(name)!.runs[1]!.state === 'failed');
      await Promise.all(lost.map((name) => survivor.sessions.resume(name, { prompt: promptOf(name, 3) })));
      await allFinal(lost.length ? 3 : 2);

      for (const name of NAMES) stored.set(name, await allEvents(survivor, name));
    } catch (error) {
      const logs = [
        ...replicas.map((r, i) => [`replica ${'AB'[i]}`, r.log] as const),
        ...runners.map((r) => [r.name, r.log] as const),
      ]
        .map(([label, log]) => `--- ${label}\n${log.slice(-15).join('\n')}`)
        .join('\n');
      throw new Error(`${(error as Error).message}\n${logs}`);
    }

    /** Waits until every session has `runs` runs, the last one ended; keeps what replica B says. */
    async function allFinal(runs: number): Promise<void> {
      await eventually(
        `every session to end its run ${runs}`,
        async () => {
          for (const name of NAMES) {
            const session = await survivor.sessions.get(name);
            sessions.set(name, session);
            const expected = runs === 3 && !lost.includes(name) ? 2 : runs;
            if (session.runs.length !== expected || !FINAL.has(session.state)) return false;
          }
          return true;
        },
        60_000,
      );
    }
  });

  it('ends every session finished; a run lost with the killed runner fails as such and resumes elsewhere', () => {
    assert.ok(lost.length > 0, 'the killed runner was running at least one turn 2');
    const killed = hosts.hosts[1]!.address;
    const after = calls.filter((c) => c.prompt.endsWith(' turn 3'));
    assert.equal(after.length, lost.length);
    assert.ok(
      after.every((c) => c.remote !== killed),
      'the runs after the kills ran on the runners left, through the replica left',
    );
    for (const name of NAMES) {
      const session = sessions.get(name)!;
      assert.equal(
        session.state,
        'finished',
        `${name}: ${JSON.stringify(session.runs.map((r) => [r.state, r.error]))}`,
      );
      for (const run of session.runs) {
        if (run.state === 'failed') {
          assert.ok(lost.includes(name) && run.number === 2, `${name} run ${run.number} failed: ${run.error}`);
          assert.match(run.error ?? '', /runner lost/i);
        } else {
          assert.equal(run.state, 'finished', `${name} run ${run.number}`);
          assert.equal(run.result, `ECHO: ${promptOf(name, run.number)}`);
        }
      }
    }
  });

  it('keeps every acknowledged event once: seq 1..N without gap or double, one start and one stop per run', () => {
    for (const name of NAMES) {
      const events = stored.get(name)!;
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, i) => i + 1),
        `${name}: seq without gap`,
      );
      const seen = new Set<string>();
      for (const event of events) {
        const key = JSON.stringify([event.run, event.type, event.data]);
        assert.ok(!seen.has(key), `${name}: event stored twice: ${key}`);
        seen.add(key);
      }
      for (const run of sessions.get(name)!.runs) {
        const ofRun = events.filter((e) => e.run === run.number);
        assert.equal(
          ofRun.filter((e) => e.type === 'session_stop').length,
          1,
          `${name} run ${run.number}: one session_stop`,
        );
        assert.ok(
          ofRun.filter((e) => e.type === 'session_start').length <= 1,
          `${name} run ${run.number}: at most one session_start`,
        );
        if (run.state === 'finished')
          assert.equal(ofRun.filter((e) => e.type === 'result').length, 1, `${name} run ${run.number}: one result`);
      }
    }
  });

  it('executes no run twice (the fake model saw each prompt at most once, each finished run exactly once)', () => {
    for (const name of NAMES) {
      for (const run of sessions.get(name)!.runs) {
        const seen = calls.filter((c) => c.prompt === promptOf(name, run.number)).length;
        if (run.state === 'finished')
          assert.equal(seen, 1, `${name} run ${run.number} reached the model ${seen} times`);
        else assert.ok(seen <= 1, `${name} run ${run.number} (${run.state}) reached the model ${seen} times`);
      }
    }
  });

  it('spreads the runs over the three hosts, and every resume carries its conversation to whichever host runs it', () => {
    const remotes = new Set(calls.map((c) => c.remote));
    assert.deepEqual([...remotes].sort(), hosts.hosts.map((h) => h.address).sort(), 'every runner host ran agents');
    let moved = 0;
    for (const name of NAMES) {
      const first = calls.find((c) => c.prompt === promptOf(name, 1))!;
      for (const run of sessions.get(name)!.runs.filter((r) => r.number > 1 && r.state === 'finished')) {
        const call = calls.find((c) => c.prompt === promptOf(name, run.number))!;
        assert.ok(call.history.includes(promptOf(name, 1)), `${name} run ${run.number} resumed its conversation`);
        if (call.remote !== first.remote) moved++;
      }
    }
    assert.ok(moved > 0, 'at least one session was resumed on another host than the one that started it');
  });

  it('lets an SSE client cut off with the killed replica resume on the other with Last-Event-ID, without a gap', () => {
    assert.ok(onB.size > 0, 'some SSE clients were following a live run when replica A was killed');
    for (const name of NAMES) {
      const received = [...onA.get(name)!.events, ...(onB.get(name)?.events ?? [])];
      const stop = stored.get(name)!.find((e) => e.run === 2 && e.type === 'session_stop')!;
      const expected = stored
        .get(name)!
        .filter((e) => e.seq <= stop.seq)
        .map((e) => `${e.seq}:${e.type}`);
      assert.deepEqual(
        received.map((e) => `${e.seq}:${e.type}`),
        expected,
        `${name}: what the client saw`,
      );
    }
  });
});

/** Matches the session_stop of run `run`. */
const runEnd = (run: number) => (event: StreamedEvent) => event.type === 'session_stop' && event.run === run;

/** What an SSE client got of a session's stream; `done`: true once `until` matched, false when the stream was cut before. */
interface Follow {
  events: StreamedEvent[];
  done: Promise<boolean>;
  close(): Promise<void>;
}

/** An SSE client of `url` following `name` (after `lastEventId`, sent as Last-Event-ID) until an event matches `until`. */
function follow(url: string, name: string, until: (event: StreamedEvent) => boolean, lastEventId?: number): Follow {
  const events: StreamedEvent[] = [];
  let matched = false;
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  const stream = followEvents(
    url,
    name,
    (event) => {
      if (matched) return;
      events.push(event);
      if (until(event)) {
        matched = true;
        void stream.close().catch(() => undefined);
      }
    },
    headers,
  );
  return {
    events,
    done: stream.done.then(
      () => matched,
      () => matched,
    ),
    close: () => stream.close().catch(() => undefined),
  };
}

async function allEvents(client: Orchestrator, name: string): Promise<Event[]> {
  const events: Event[] = [];
  for (;;) {
    const page = await client.sessions.listEvents(name, { after: events.at(-1)?.seq ?? 0, limit: 500 });
    events.push(...page.events);
    if (!page.has_more) return events;
  }
}
