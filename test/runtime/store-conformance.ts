// The conformance suite of the runtime's store: what every backend (the embedded one, PostgreSQL
// later) must do. A backend's test file calls `storeConformance` with a way to open its store at a
// fresh location and to open it again there (a restart).
import assert from 'node:assert/strict';
import { credentialFor, credentialHash, newSecret } from '../../servers/runtime/agent-credentials.js';
import { lastRun, newRun, type RunState, type StoredSession } from '../../servers/runtime/session-store.js';
import type {
  Approval,
  Callback,
  NewWebhookDelivery,
  RuntimeStore,
  UnnumberedEvent,
} from '../../servers/runtime/store/interfaces.js';

export interface StoreBackend {
  /** A store at a fresh, empty location. */
  fresh(): Promise<StoreLocation>;
}

export interface StoreLocation {
  /** Opens the store at this location (again, after `close`, for a restart). */
  open(): Promise<RuntimeStore>;
  /** Removes what the location holds. */
  dispose(): Promise<void>;
}

export function session(
  name: string,
  options: { state?: RunState; updated_at?: string; agent?: string | null; project_dir?: string; runs?: number } = {},
): StoredSession {
  const at = options.updated_at ?? '2026-01-01T00:00:00.000Z';
  // The runs before the last have ended.
  const runs = Array.from({ length: options.runs ?? 1 }, (_, i) => ({
    ...newRun(i + 1, `prompt ${i + 1} of ${name}`, at),
    state: 'finished' as RunState,
  }));
  runs[runs.length - 1]!.state = options.state ?? 'queued';
  return {
    _id: name,
    name,
    agent: options.agent ?? null,
    blueprint: null,
    project_dir: options.project_dir ?? '/work',
    claude_session_id: null,
    created_at: at,
    last_resumed_at: null,
    updated_at: at,
    runs,
  };
}

const message = (name: string, run: number, text: string): UnnumberedEvent => ({
  session: name,
  run,
  type: 'message',
  at: '2026-01-01T00:00:00.000Z',
  data: { role: 'assistant', text },
});

const request = (id: string, over: Partial<Approval> = {}): Approval => ({
  id,
  session: 's',
  run: 1,
  tool: 'Bash',
  input: { command: 'rm -rf build', 'odd.$key': [1, { nested: true }] },
  tool_use_id: null,
  state: 'pending',
  asked_at: '2026-01-01T00:00:00.000Z',
  expires_at: '2026-01-01T00:10:00.000Z',
  answered_at: null,
  answered_by: null,
  message: null,
  ...over,
});

const callback = (child: string, parent: string, over: Partial<Callback> = {}): Callback => ({
  id: `${child}#1#1767225600000`,
  parent,
  child,
  run: 1,
  state: 'finished',
  result: `done: ${child}`,
  error: null,
  status: 'pending',
  created_at: '2026-01-01T00:00:00.000Z',
  settled_at: null,
  parent_run: null,
  ...over,
});

/** A child session (a callback one unless `callback: false`) of `parent`, in `state`. */
const child = (name: string, parent: string, state: RunState, options: { callback?: boolean } = {}): StoredSession => ({
  ...session(name, { state }),
  parent,
  ...(options.callback === false ? {} : { callback: true }),
});

const notice = (id: string, over: Partial<NewWebhookDelivery> = {}): NewWebhookDelivery => ({
  id,
  session: 's',
  run: 1,
  url: 'https://hooks.example/in?token=secret',
  body: `{"event":"run.ended","id":"${id}"}`,
  ...over,
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls `claim` until it returns something (a claim or a retry came due), for at most 10 s. */
async function claimWhenDue<T>(claim: () => Promise<T[]>): Promise<T[]> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await pause(20)) {
    const claimed = await claim();
    if (claimed.length) return claimed;
  }
  throw new Error('nothing came due within 10 s');
}

const time = (second: number) => `2026-01-01T00:00:${String(second).padStart(2, '0')}.000Z`;

export function storeConformance(label: string, backend: StoreBackend): void {
  describe(`store conformance: ${label}`, function () {
    this.timeout(30_000);
    let location: StoreLocation;
    let store: RuntimeStore;

    beforeEach(async () => {
      location = await backend.fresh();
      store = await location.open();
    });
    afterEach(async () => {
      await store.close();
      await location.dispose();
    });

    const reopen = async () => {
      await store.close();
      store = await location.open();
    };

    describe('sessions', () => {
      it('inserts, finds, replaces and removes by name', async () => {
        assert.equal(await store.sessions.insert(session('a')), true);
        assert.equal((await store.sessions.find('a'))?.runs[0]?.prompt, 'prompt 1 of a');
        assert.equal(await store.sessions.find('b'), null);
        const changed = session('a', { state: 'finished', updated_at: time(5) });
        await store.sessions.replace(changed);
        assert.deepEqual(await store.sessions.find('a'), changed);
        assert.equal(await store.sessions.remove('a'), true);
        assert.equal(await store.sessions.remove('a'), false);
        assert.equal(await store.sessions.find('a'), null);
      });

      it('keeps names unique, also when many insert one name at once', async () => {
        assert.equal(await store.sessions.insert(session('dup')), true);
        assert.equal(await store.sessions.insert(session('dup', { agent: 'other' })), false);
        assert.equal((await store.sessions.find('dup'))?.agent, null, 'the first one stays');
        const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.sessions.insert(session('race'))));
        assert.equal(outcomes.filter(Boolean).length, 1);
        assert.equal((await store.sessions.all()).filter((s) => s.name === 'race').length, 1);
      });

      it('never shows a session half written: one being inserted or removed is absent or whole, runs and all', async () => {
        const seen: string[] = [];
        const look = async (writing: Promise<unknown>) => {
          let done = false;
          void writing.finally(() => {
            done = true;
          });
          // Reads while the write is under way (each store yields between the parts it writes).
          while (!done) {
            const found = await store.sessions.find('half');
            seen.push(found ? `runs:${found.runs.length}` : 'absent');
            const listed = (await store.sessions.all()).find((s) => s.name === 'half');
            if (listed) seen.push(`listed runs:${listed.runs.length}`);
          }
          await writing;
        };
        for (let round = 0; round < 5; round++) {
          await look(store.sessions.insert(session('half')));
          await look(store.sessions.remove('half'));
        }
        assert.deepEqual(
          seen.filter((s) => s.endsWith('runs:0')),
          [],
        );
        assert.equal(await store.sessions.find('half'), null);
      });

      it('pages in list order (last activity first, then name) strictly after a position', async () => {
        const names = ['e', 'a', 'd', 'c', 'b', 'f'];
        // a, b, c share a time: the name decides.
        const seconds: Record<string, number> = { a: 3, b: 3, c: 3, d: 9, e: 1, f: 7 };
        await Promise.all(names.map((n) => store.sessions.insert(session(n, { updated_at: time(seconds[n]!) }))));
        const expected = ['d', 'f', 'a', 'b', 'c', 'e'];
        assert.deepEqual(
          (await store.sessions.page({}, null, 100)).map((s) => s.name),
          expected,
        );
        assert.deepEqual(
          (await store.sessions.all()).map((s) => s.name),
          expected,
        );
        const walked: string[] = [];
        let after = null;
        for (;;) {
          const page: StoredSession[] = await store.sessions.page({}, after, 4);
          walked.push(...page.map((s) => s.name));
          if (page.length < 4) break;
          const last = page[page.length - 1]!;
          after = { updated_at: last.updated_at, name: last.name };
        }
        assert.deepEqual(walked, expected);
        assert.deepEqual(
          (await store.sessions.page({}, { updated_at: time(3), name: 'a' }, 2)).map((s) => s.name),
          ['b', 'c'],
        );
        assert.deepEqual(await store.sessions.page({}, { updated_at: time(0), name: 'z' }, 2), []);
      });

      it('filters by states, agent, name prefix and project dir, and counts every state regardless', async () => {
        await store.sessions.insert(session('run-1', { state: 'running', agent: 'rev', updated_at: time(1) }));
        await store.sessions.insert(session('run-2', { state: 'failed', agent: 'rev', updated_at: time(2) }));
        await store.sessions.insert(session('job-1', { state: 'failed', project_dir: '/other', updated_at: time(3) }));
        await store.sessions.insert(session('job-2', { state: 'stopped', updated_at: time(4) }));
        await store.sessions.insert(session('job-3', { state: 'finished', runs: 3, updated_at: time(5) }));
        const names = async (filter: Parameters<RuntimeStore['sessions']['page']>[0]) =>
          (await store.sessions.page(filter, null, 100)).map((s) => s.name);
        assert.deepEqual(await names({ states: ['failed', 'stopped'] }), ['job-2', 'job-1', 'run-2']);
        assert.deepEqual(await names({ agent: 'rev' }), ['run-2', 'run-1']);
        assert.deepEqual(await names({ prefix: 'job-' }), ['job-3', 'job-2', 'job-1']);
        assert.deepEqual(await names({ project_dir: '/other' }), ['job-1']);
        assert.deepEqual(await names({ prefix: 'run', states: ['failed'], agent: 'rev' }), ['run-2']);
        assert.deepEqual(await names({ prefix: 'nothing' }), []);
        assert.deepEqual(await store.sessions.counts(), { queued: 0, running: 1, finished: 1, failed: 2, stopped: 1 });
        // The state is the last run's: a replace moves the session between states and in the order.
        const resumed = session('job-1', { state: 'running', runs: 2, project_dir: '/other', updated_at: time(8) });
        await store.sessions.replace(resumed);
        assert.deepEqual(await names({ states: ['running'] }), ['job-1', 'run-1']);
        assert.deepEqual(await store.sessions.counts(), { queued: 0, running: 2, finished: 1, failed: 1, stopped: 1 });
        await store.sessions.remove('job-2');
        assert.equal((await store.sessions.counts()).stopped, 0);
      });

      it('filters by the waiting flag (pending approval requests), which a replace turns on and off', async () => {
        await store.sessions.insert(session('quiet', { state: 'running', updated_at: time(1) }));
        await store.sessions.insert({
          ...session('asks', { state: 'running', updated_at: time(2) }),
          pending_approvals: 2,
        });
        const names = async (waiting: boolean) =>
          (await store.sessions.page({ waiting }, null, 100)).map((s) => s.name);
        assert.deepEqual(await names(true), ['asks']);
        assert.deepEqual(await names(false), ['quiet']);
        await store.sessions.replace({
          ...session('asks', { state: 'running', updated_at: time(2) }),
          pending_approvals: 0,
        });
        await store.sessions.replace({
          ...session('quiet', { state: 'running', updated_at: time(1) }),
          pending_approvals: 1,
        });
        assert.deepEqual(await names(true), ['quiet']);
        assert.deepEqual(await names(false), ['asks']);
      });

      it('keeps each run as a record of its own: a write of a session writes its facts and the runs it names', async () => {
        const s = session('multi', { state: 'finished', runs: 3 });
        s.runs[0]!.result = 'first answer';
        s.runs[1]!.callbacks = ['child#1#1'];
        assert.equal(await store.sessions.insert(s), true);
        assert.deepEqual(await store.sessions.find('multi'), s);
        // By default the last run is written with the facts; earlier runs stay as they were.
        const changed = structuredClone(s);
        changed.updated_at = time(5);
        changed.runs[2]!.result = 'third answer';
        changed.runs[0]!.result = 'never written';
        await store.sessions.replace(changed);
        const found = await store.sessions.find('multi');
        assert.equal(found?.updated_at, time(5));
        assert.equal(found?.runs[2]?.result, 'third answer');
        assert.equal(found?.runs[0]?.result, 'first answer', 'a run before the last is not written by default');
        // A new run (a resume) is written as a new record; naming no runs writes the facts only.
        changed.runs.push({ ...newRun(4, 'again', time(6)), callbacks: ['c2'] });
        await store.sessions.replace(changed);
        assert.deepEqual(
          (await store.sessions.find('multi'))?.runs.map((r) => `${r.number} ${r.state} ${r.callbacks ?? ''}`),
          ['1 finished ', '2 finished child#1#1', '3 finished ', '4 queued c2'],
        );
        changed.runs[3]!.result = 'not written';
        changed.updated_at = time(7);
        await store.sessions.replace(changed, []);
        assert.equal((await store.sessions.find('multi'))?.runs[3]?.result, null);
        assert.equal((await store.sessions.find('multi'))?.updated_at, time(7));
        // Lists and reads of every session carry the runs, in order.
        await store.sessions.insert(session('other', { runs: 2 }));
        for (const listed of [
          await store.sessions.page({}, null, 10),
          await store.sessions.all(),
          await store.sessions.page({ states: ['queued'] }, null, 10),
        ]) {
          assert.deepEqual(
            listed.map((l) => `${l.name}: ${l.runs.map((r) => r.number).join(',')}`),
            ['multi: 1,2,3,4', 'other: 1,2'],
          );
        }
        // A removed session's runs go with it: a new session of that name starts with its own.
        assert.equal(await store.sessions.remove('multi'), true);
        assert.equal(await store.sessions.find('multi'), null);
        await store.sessions.insert(session('multi'));
        assert.deepEqual((await store.sessions.find('multi'))?.runs.length, 1);
        await reopen();
        assert.deepEqual((await store.sessions.find('other'))?.runs.length, 2);
      });

      it('claims queued runs in claim order, by tags, passing over live leases, stops and ended runs, under the cap', async () => {
        const queuedAt = (s: StoredSession, second: number) => {
          s.runs.at(-1)!.queued_at = time(second);
          return s;
        };
        const clock = await store.clock();
        const later = new Date(clock + 60_000).toISOString();
        const earlier = new Date(clock - 60_000).toISOString();
        await store.sessions.insert(queuedAt(session('late'), 9));
        await store.sessions.insert(queuedAt(session('b-early'), 2));
        await store.sessions.insert(queuedAt(session('a-early'), 2));
        await store.sessions.insert(queuedAt(session('busy', { state: 'running' }), 1));
        await store.sessions.insert(queuedAt(session('done', { state: 'finished', runs: 2 }), 0));
        await store.sessions.insert({ ...queuedAt(session('gpu'), 3), runner_tags: ['linux', 'gpu'] });
        const claimed = queuedAt(session('claimed'), 4);
        claimed.runs[0]!.lease = { runner: 'r1', attempt: 1, expires_at: later, reported: 0 };
        await store.sessions.insert(claimed);
        const lapsed = queuedAt(session('lapsed'), 5);
        lapsed.runs[0]!.lease = { runner: 'r2', attempt: 1, expires_at: earlier, reported: 3 };
        await store.sessions.insert(lapsed);
        const stopping = queuedAt(session('stopping'), 6);
        stopping.runs[0]!.stop_requested = true;
        await store.sessions.insert(stopping);

        const take = async (tags: string[], maxInFlight = 100, runner = 'r9', host?: string) => {
          const secret = newSecret();
          const before = await store.clock();
          const got = await store.sessions.claim({
            offer: { runner, tags, ...(host ? { host } : {}) },
            leaseMs: 30_000,
            maxInFlight,
            secret,
          });
          if (!got) return null;
          const found = (await store.sessions.find(got.session))!;
          assert.deepEqual(got.stored, found, 'the claim answers the session as it left it');
          const run = found.runs.find((r) => r.number === got.run)!;
          assert.equal(run.state, 'queued');
          assert.equal(run.lease?.runner, runner);
          assert.equal(run.lease?.host, host);
          assert.equal(run.lease?.attempt, got.attempt);
          assert.equal(run.lease?.reported, 0);
          assert.equal(run.runner, host ? `${runner}@${host}` : runner);
          const expires = Date.parse(run.lease!.expires_at);
          assert.ok(expires >= before + 30_000 && expires <= before + 40_000, run.lease!.expires_at);
          assert.equal(run.credential_hash, credentialHash(credentialFor(got.session, got.run, secret)));
          return `${got.session}#${got.run}@${got.attempt}`;
        };
        assert.equal(await take(['gpu'], 100, 'r9', 'host-1'), 'a-early#1@1', 'first come, then by name');
        assert.equal(await take(['x', 'gpu', 'linux']), 'b-early#1@1');
        assert.equal(await take(['x', 'gpu', 'linux']), 'gpu#1@1', 'a runner with every tag the session asks for');
        assert.equal(await take([]), 'lapsed#1@2', 'a lapsed lease: claimed again under the next attempt');
        // In flight now: busy (running), claimed (a live lease) and the four claims above.
        await store.sessions.insert(queuedAt(session('extra'), 10));
        assert.equal(await take([], 6), null, 'the cap counts running runs and live leases');
        assert.equal(await take([], 7), 'late#1@1');
        assert.equal(await take([]), 'extra#1@1');
        assert.equal(await take(['gpu', 'linux']), null, 'claimed, stopping, running and ended runs are passed over');

        // A run that ends or starts leaves the queue; a resumed session (a new last run) joins it.
        const resumed = (await store.sessions.find('done'))!;
        resumed.runs.push(newRun(3, 'again', time(7)));
        await store.sessions.replace(resumed);
        const unstopped = (await store.sessions.find('stopping'))!;
        delete unstopped.runs[0]!.stop_requested;
        unstopped.runs[0]!.state = 'running';
        await store.sessions.replace(unstopped);
        // A writer's read-modify-write of a claimed run keeps its lease.
        const written = (await store.sessions.find('late'))!;
        written.updated_at = time(30);
        await store.sessions.replace(written);
        await reopen();
        assert.equal((await store.sessions.find('late'))?.runs[0]?.lease?.attempt, 1);
        assert.equal(await take([]), 'done#3@1');
        assert.equal(await take([]), null);
      });

      it('passes over the sessions a claim leaves to others (`except`), also among the ones it may take (`only`)', async () => {
        for (const name of ['x1', 'x2', 'x3']) await store.sessions.insert(session(name));
        const take = async (only?: string[], except?: string[]) =>
          (
            await store.sessions.claim({
              offer: { runner: 'r', tags: [] },
              leaseMs: 30_000,
              maxInFlight: 100,
              secret: newSecret(),
              only,
              except,
            })
          )?.session ?? null;
        assert.equal(await take(undefined, ['x1']), 'x2');
        assert.equal(await take(['x1', 'x3'], ['x1']), 'x3');
        assert.equal(await take(undefined, ['x1']), null);
        assert.equal(await take(undefined, []), 'x1');
      });

      it('gives each queued run to one claimant when many claim at once, and passes over a run being written', async () => {
        for (let i = 0; i < 12; i++) await store.sessions.insert(session(`q${String(i).padStart(2, '0')}`));
        const offer = { runner: 'r', tags: [] };
        const held = await store.exclusive('q00', async (tx) => {
          await tx.sessions.find('q00');
          // A claim elsewhere while the session is held takes the next run instead of waiting.
          return store.sessions.claim({ offer, leaseMs: 30_000, maxInFlight: 100, secret: newSecret() });
        });
        assert.equal(held?.session, 'q01');
        const claims = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.sessions.claim({ offer, leaseMs: 30_000, maxInFlight: 100, secret: newSecret() }),
          ),
        );
        const names = claims.flatMap((c) => (c ? [c.session] : []));
        assert.equal(names.length, 11, `claimed: ${names.join(' ')}`);
        assert.equal(new Set([...names, 'q01']).size, 12, 'no run was claimed twice');
      });
    });

    describe('tokens', () => {
      it('keeps names unique, finds by hash, lists by name, deletes by name', async () => {
        const token = (name: string, hash: string) =>
          ({ name, role: 'viewer', hash, created_at: '2026-01-01T00:00:00.000Z' }) as const;
        assert.equal(await store.tokens.insert(token('bob', 'b'.repeat(64))), true);
        assert.equal(await store.tokens.insert(token('ann', 'a'.repeat(64))), true);
        assert.equal(await store.tokens.insert(token('bob', 'c'.repeat(64))), false, 'a name is taken once');
        assert.deepEqual(await store.tokens.findByHash('a'.repeat(64)), token('ann', 'a'.repeat(64)));
        assert.equal(await store.tokens.findByHash('c'.repeat(64)), null);
        assert.deepEqual(
          (await store.tokens.list()).map((t) => t.name),
          ['ann', 'bob'],
        );
        await reopen();
        assert.equal(await store.tokens.delete('ann'), true);
        assert.equal(await store.tokens.delete('ann'), false);
        assert.equal(await store.tokens.findByHash('a'.repeat(64)), null);
        assert.deepEqual(
          (await store.tokens.list()).map((t) => t.name),
          ['bob'],
        );
      });
    });

    describe('events', () => {
      it('numbers the events of each session 1, 2, 3, ... and pages them as ranges', async () => {
        const first = await store.events.append('s', [message('s', 1, 'one'), message('s', 1, 'two')]);
        assert.deepEqual(
          first.map((e) => e.seq),
          [1, 2],
        );
        assert.deepEqual(
          (await store.events.append('t', [message('t', 1, 'other')])).map((e) => e.seq),
          [1],
        );
        const more = await store.events.append(
          's',
          Array.from({ length: 8 }, (_, i) => message('s', 2, `m${i}`)),
        );
        assert.deepEqual(
          more.map((e) => e.seq),
          [3, 4, 5, 6, 7, 8, 9, 10],
        );
        assert.equal(await store.events.lastSeq('s'), 10);
        assert.equal(await store.events.lastSeq('nobody'), 0);
        const page = await store.events.after('s', 2, 3);
        assert.deepEqual(
          page.map((e) => e.seq),
          [3, 4, 5],
        );
        assert.deepEqual(page[0], {
          session: 's',
          run: 2,
          type: 'message',
          at: '2026-01-01T00:00:00.000Z',
          data: { role: 'assistant', text: 'm0' },
          seq: 3,
        });
        assert.deepEqual(
          (await store.events.after('s', 8, 100)).map((e) => e.seq),
          [9, 10],
        );
        assert.deepEqual(await store.events.after('s', 10, 100), []);
        assert.equal(await store.events.count('s', 2, ['session_stop']), 8);
        await store.events.append('s', [
          {
            session: 's',
            run: 2,
            type: 'session_stop',
            at: '2026-01-01T00:00:00.000Z',
            data: { exit_code: 0, signal: null, reason: 'completed' },
          },
        ]);
        assert.equal(await store.events.count('s', 2, ['session_stop']), 8);
        assert.equal(await store.events.count('s', 1, ['session_stop']), 2);
      });

      it('never gives two events one number, nor leaves a gap, under concurrent appends', async () => {
        const calls = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            store.events.append(
              i % 2 ? 'p' : 'q',
              Array.from({ length: 1 + (i % 4) }, (_, j) => message(i % 2 ? 'p' : 'q', 1, `${i}.${j}`)),
            ),
          ),
        );
        for (const events of calls) {
          for (let j = 1; j < events.length; j++)
            assert.equal(events[j]!.seq, events[0]!.seq + j, 'one call gets consecutive numbers');
        }
        for (const name of ['p', 'q']) {
          const expectedCount = calls
            .filter((events) => events[0]!.session === name)
            .reduce((n, events) => n + events.length, 0);
          const stored = await store.events.after(name, 0, 1000);
          assert.deepEqual(
            stored.map((e) => e.seq),
            Array.from({ length: expectedCount }, (_, i) => i + 1),
          );
          assert.equal(await store.events.lastSeq(name), expectedCount);
        }
      });

      it("removes a session's events only, after which its numbering starts again", async () => {
        await store.events.append('gone', [message('gone', 1, 'a'), message('gone', 1, 'b')]);
        await store.events.append('kept', [message('kept', 1, 'a')]);
        await store.events.remove('gone');
        await store.events.remove('never-had-any');
        assert.deepEqual(await store.events.after('gone', 0, 10), []);
        assert.equal(await store.events.lastSeq('gone'), 0);
        assert.equal((await store.events.after('kept', 0, 10)).length, 1);
        assert.deepEqual(
          (await store.events.append('gone', [message('gone', 1, 'new')])).map((e) => e.seq),
          [1],
        );
      });

      it('serves many more sessions than it keeps open, interleaved, without mixing them up', async () => {
        const names = Array.from({ length: 12 }, (_, i) => `many-${i}`);
        for (let round = 0; round < 3; round++) {
          await Promise.all(names.map((n) => store.events.append(n, [message(n, 1, `${n} round ${round}`)])));
        }
        for (const n of names) {
          assert.deepEqual(
            (await store.events.after(n, 0, 10)).map((e) => [e.seq, e.data.text]),
            [0, 1, 2].map((r) => [r + 1, `${n} round ${r}`]),
          );
        }
      });
    });

    describe('exclusive', () => {
      it('runs the writes to one session one at a time: no read-modify-write is lost', async () => {
        const counted = session('counted');
        counted.runs[0]!.prompt = '0';
        await store.sessions.insert(counted);
        const bump = (i: number) =>
          store.exclusive('counted', async (tx) => {
            const found = (await tx.sessions.find('counted'))!;
            await new Promise((resolve) => setTimeout(resolve, i % 3)); // another writer would come in here
            found.runs[0]!.prompt = String(Number(found.runs[0]!.prompt) + 1);
            await tx.sessions.replace(found);
            await tx.events.append('counted', [message('counted', 1, `bump ${i}`)]);
            return i;
          });
        assert.deepEqual(
          await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i))),
          Array.from({ length: 20 }, (_, i) => i),
        );
        assert.equal((await store.sessions.find('counted'))?.runs[0]?.prompt, '20');
        assert.deepEqual(
          (await store.events.after('counted', 0, 100)).map((e) => e.seq),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
      });

      it("lets other sessions go on meanwhile, and passes the work's error on", async () => {
        let release!: () => void;
        let holding!: () => void;
        const holds = new Promise<void>((resolve) => {
          holding = resolve;
        });
        const held = store.exclusive(
          'slow',
          () =>
            new Promise<string>((resolve) => {
              release = () => resolve('slow done');
              holding();
            }),
        );
        // Another session is not held up by the first one's hold (taken first: a backend may take a moment to).
        await holds;
        assert.equal(await store.exclusive('quick', async (tx) => tx.sessions.insert(session('quick'))), true);
        release();
        assert.equal(await held, 'slow done');
        await assert.rejects(
          store.exclusive('quick', async () => {
            throw new Error('the work failed');
          }),
          /the work failed/,
        );
        // A failed work does not keep the session held.
        assert.equal(await store.exclusive('quick', async (tx) => (await tx.sessions.find('quick'))?.name), 'quick');
      });
    });

    describe('tryExclusive', () => {
      it('gives up at once on a session another writer holds, and works on one nobody holds', async () => {
        await store.sessions.insert(session('held'));
        await store.sessions.insert(session('free'));
        let release!: () => void;
        const holding = store.exclusive(
          'held',
          () =>
            new Promise<void>((resolve) => {
              release = resolve;
            }),
        );
        assert.deepEqual(await store.tryExclusive('held', async () => 'ran'), { done: false });
        assert.deepEqual(await store.tryExclusive('free', async (tx) => (await tx.sessions.find('free'))?.name), {
          done: true,
          value: 'free',
        });
        release();
        await holding;
        assert.deepEqual(await store.tryExclusive('held', async () => 'ran'), { done: true, value: 'ran' });
      });
    });

    describe('restart', () => {
      it('keeps sessions, events and the numbering across a close and reopen', async () => {
        await store.sessions.insert(session('kept', { state: 'running', updated_at: time(2) }));
        await store.sessions.insert(session('gone', { updated_at: time(1) }));
        await store.events.append('kept', [message('kept', 1, 'before')]);
        await store.events.append('gone', [message('gone', 1, 'x')]);
        await store.sessions.replace(session('kept', { state: 'finished', updated_at: time(3) }));
        await store.sessions.remove('gone');
        await store.events.remove('gone');
        await reopen();
        assert.equal((await store.sessions.find('kept'))?.runs[0]?.state, 'finished');
        assert.equal(await store.sessions.find('gone'), null);
        assert.deepEqual(await store.sessions.counts(), { queued: 0, running: 0, finished: 1, failed: 0, stopped: 0 });
        assert.deepEqual(
          (await store.sessions.page({}, null, 10)).map((s) => s.name),
          ['kept'],
        );
        assert.deepEqual(
          (await store.events.append('kept', [message('kept', 1, 'after')])).map((e) => e.seq),
          [2],
        );
        assert.deepEqual(
          (await store.events.after('kept', 0, 10)).map((e) => e.data.text),
          ['before', 'after'],
        );
        assert.deepEqual(await store.events.after('gone', 0, 10), []);
      });

      it('compacts while serving and loses nothing by it', async () => {
        for (let i = 0; i < 30; i++) await store.sessions.insert(session(`c${i}`, { updated_at: time(i) }));
        for (let i = 0; i < 30; i++)
          await store.sessions.replace(session(`c${i}`, { state: 'finished', updated_at: time(i) }));
        for (let i = 0; i < 20; i++) await store.sessions.remove(`c${i}`);
        await store.sessions.insert(session('after', { updated_at: time(40) }));
        await Promise.all([
          store.sessions.compact(),
          store.sessions.insert(session('during', { updated_at: time(59) })),
        ]);
        // Written after the compaction: kept in the compacted files, not in the ones they replaced.
        await store.sessions.replace(session('after', { state: 'finished', updated_at: time(60) }));
        await reopen();
        assert.deepEqual(
          (await store.sessions.all()).map((s) => s.name),
          ['after', 'during', ...Array.from({ length: 10 }, (_, i) => `c${29 - i}`)],
        );
        assert.equal(lastRun((await store.sessions.find('after'))!).state, 'finished');
      });
    });

    describe('conversations', () => {
      // Every byte value, and more than one write's worth: the store keeps bytes, not text.
      const bytes = (size: number, seed: number) =>
        Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 256));

      it("saves, loads, replaces and removes a session's conversation, byte for byte", async () => {
        assert.equal(await store.conversations.load('c'), null);
        const first = bytes(3 * 65_536 + 7, 1);
        await store.conversations.save('c', first);
        assert.deepEqual(await store.conversations.load('c'), first);
        const second = bytes(10, 2);
        await store.conversations.save('c', second);
        assert.deepEqual(await store.conversations.load('c'), second, 'a save replaces the whole conversation');
        await store.conversations.save('empty', Buffer.alloc(0));
        assert.deepEqual(await store.conversations.load('empty'), Buffer.alloc(0));
        assert.equal(await store.conversations.remove('c'), true);
        assert.equal(await store.conversations.remove('c'), false);
        assert.equal(await store.conversations.load('c'), null);
        assert.deepEqual(await store.conversations.load('empty'), Buffer.alloc(0), 'other sessions keep theirs');
      });

      it('keeps one conversation per name, distinct for names that differ only in case', async () => {
        await store.conversations.save('Abc', Buffer.from('upper'));
        await store.conversations.save('abc', Buffer.from('lower'));
        assert.equal((await store.conversations.load('Abc'))?.toString(), 'upper');
        assert.equal((await store.conversations.load('abc'))?.toString(), 'lower');
        await store.conversations.remove('Abc');
        assert.equal(await store.conversations.load('Abc'), null);
        assert.equal((await store.conversations.load('abc'))?.toString(), 'lower');
      });

      it('ends concurrent saves of one session with one of them whole, never a mix', async () => {
        const versions = Array.from({ length: 8 }, (_, i) => bytes(50_000 + i, i));
        await Promise.all(versions.map((v) => store.conversations.save('busy', v)));
        const kept = await store.conversations.load('busy');
        assert.ok(
          versions.some((v) => kept?.equals(v)),
          'the conversation kept is one of those saved',
        );
      });

      it('keeps conversations across a close and reopen, and forgets removed ones', async () => {
        await store.conversations.save('kept', bytes(1000, 3));
        await store.conversations.save('gone', bytes(10, 4));
        await store.conversations.remove('gone');
        await reopen();
        assert.deepEqual(await store.conversations.load('kept'), bytes(1000, 3));
        assert.equal(await store.conversations.load('gone'), null);
      });
    });

    describe('approvals', () => {
      it('inserts, finds oldest first by session, state, run and tool_use_id, and gets by id', async () => {
        await store.approvals.insert(request('apr_b', { asked_at: time(2) }));
        await store.approvals.insert(request('apr_a', { asked_at: time(2), run: 2, tool_use_id: 'tu1' }));
        await store.approvals.insert(request('apr_c', { asked_at: time(1), session: 'other' }));
        assert.deepEqual(await store.approvals.get('apr_b'), request('apr_b', { asked_at: time(2) }));
        assert.equal(await store.approvals.get('apr_none'), null);
        assert.deepEqual(
          (await store.approvals.find({})).map((a) => a.id),
          ['apr_c', 'apr_a', 'apr_b'],
        );
        assert.deepEqual(
          (await store.approvals.find({ session: 's' })).map((a) => a.id),
          ['apr_a', 'apr_b'],
        );
        assert.deepEqual(
          (await store.approvals.find({ session: 's', run: 2, tool_use_id: 'tu1' })).map((a) => a.id),
          ['apr_a'],
        );
        assert.deepEqual(await store.approvals.find({ state: 'approved' }), []);
      });

      it('keeps one request per tool_use_id of a run, also when asked at once', async () => {
        const asked = await Promise.all(
          ['apr_1', 'apr_2', 'apr_3'].map((id) => store.approvals.insert(request(id, { tool_use_id: 'same' }))),
        );
        assert.equal(new Set(asked.map((a) => a.id)).size, 1, 'every ask got the same request');
        assert.deepEqual(
          (await store.approvals.find({ session: 's' })).map((a) => a.id),
          [asked[0]!.id],
        );
        // Another run, or no tool_use_id, is another request.
        await store.approvals.insert(request('apr_4', { tool_use_id: 'same', run: 2 }));
        await store.approvals.insert(request('apr_5'));
        await store.approvals.insert(request('apr_6'));
        assert.equal((await store.approvals.find({ session: 's' })).length, 4);
      });

      it('settles a pending request once: of answers given at once, one gets it', async () => {
        await store.approvals.insert(request('apr_x'));
        const outcomes = await Promise.all(
          (['approved', 'denied', 'approved', 'denied'] as const).map((state, i) =>
            store.approvals.settle('apr_x', {
              state,
              answered_by: 'person',
              answered_at: time(10 + i),
              message: `answer ${i}`,
            }),
          ),
        );
        const winners = outcomes.filter((o) => o !== null);
        assert.equal(winners.length, 1);
        assert.deepEqual(await store.approvals.get('apr_x'), winners[0]);
        assert.equal(winners[0]!.answered_by, 'person');
        assert.equal(
          await store.approvals.settle('apr_x', {
            state: 'cancelled',
            answered_by: 'run_ended',
            answered_at: time(20),
            message: 'late',
          }),
          null,
        );
        assert.equal(
          await store.approvals.settle('apr_none', {
            state: 'approved',
            answered_by: 'person',
            answered_at: time(20),
            message: null,
          }),
          null,
        );
      });

      it('removes the requests of one session, and keeps the others across a close and reopen', async () => {
        await store.approvals.insert(request('apr_s'));
        await store.approvals.insert(request('apr_o', { session: 'other' }));
        await store.approvals.settle('apr_o', {
          state: 'denied',
          answered_by: 'timeout',
          answered_at: time(30),
          message: 'nobody',
        });
        await store.approvals.removeSession('s');
        await reopen();
        assert.equal(await store.approvals.get('apr_s'), null);
        assert.deepEqual(
          await store.approvals.get('apr_o'),
          request('apr_o', {
            session: 'other',
            state: 'denied',
            answered_by: 'timeout',
            answered_at: time(30),
            message: 'nobody',
          }),
        );
      });
    });

    describe('callbacks', () => {
      it("adds each id once, also when many add it at once, and lists a parent's oldest first", async () => {
        assert.equal(await store.callbacks.insert(callback('b', 'p', { created_at: time(2) })), true);
        assert.equal(await store.callbacks.insert(callback('b', 'p', { created_at: time(2), result: 'again' })), false);
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, () => store.callbacks.insert(callback('race', 'p', { created_at: time(3) }))),
        );
        assert.equal(outcomes.filter(Boolean).length, 1);
        await store.callbacks.insert(
          callback('a', 'p', { created_at: time(2), error: 'broke', state: 'failed', result: null }),
        );
        await store.callbacks.insert(callback('c', 'p', { created_at: time(1) }));
        await store.callbacks.insert(callback('x', 'other'));
        assert.deepEqual(
          (await store.callbacks.find('p')).map((c) => c.child),
          ['c', 'a', 'b', 'race'],
        );
        assert.deepEqual(
          (await store.callbacks.find('p'))[1],
          callback('a', 'p', { created_at: time(2), error: 'broke', state: 'failed', result: null }),
        );
        assert.equal((await store.callbacks.find('p'))[2]?.result, 'done: b', 'the first one stays');
        assert.deepEqual(await store.callbacks.find('nobody'), []);
        assert.deepEqual((await store.callbacks.pendingParents()).sort(), ['other', 'p']);
        assert.equal(await store.callbacks.countPending(), 5, 'b, race, a, c of p and x of other');
      });

      it('settles only pending callbacks: of settles at once exactly one changes each', async () => {
        for (const name of ['a', 'b', 'c']) await store.callbacks.insert(callback(name, 'p'));
        const ids = ['a', 'b', 'c'].map((name) => callback(name, 'p').id);
        const outcomes = await Promise.all([
          store.callbacks.settle(ids, { status: 'delivered', settled_at: time(5), parent_run: 2 }),
          store.callbacks.settle(ids.slice(1), {
            status: 'dropped',
            settled_at: time(6),
            parent_run: null,
            reason: 'the parent session was deleted',
          }),
          store.callbacks.settle([ids[2]!], { status: 'delivered', settled_at: time(7), parent_run: 3 }),
        ]);
        assert.deepEqual(outcomes.flat().sort(), [...ids].sort(), 'each changed once');
        assert.deepEqual(
          await store.callbacks.settle(ids, { status: 'delivered', settled_at: time(8), parent_run: 4 }),
          [],
        );
        assert.deepEqual(
          await store.callbacks.settle(['none#1#1'], { status: 'delivered', settled_at: time(8), parent_run: 4 }),
          [],
        );
        assert.deepEqual(await store.callbacks.find('p', 'pending'), []);
        assert.deepEqual(await store.callbacks.pendingParents(), []);
        assert.equal(await store.callbacks.countPending(), 0);
        const settled = await store.callbacks.find('p');
        assert.equal(settled.length, 3);
        for (const one of settled) {
          if (one.status === 'delivered') assert.equal(one.reason, undefined);
          else
            assert.deepEqual(
              one,
              callback(one.child, 'p', {
                status: 'dropped',
                settled_at: time(6),
                reason: 'the parent session was deleted',
              }),
            );
        }
      });

      it('keeps pending and settled callbacks across a close and reopen', async () => {
        await store.callbacks.insert(callback('a', 'p', { created_at: time(1) }));
        await store.callbacks.insert(callback('b', 'p', { created_at: time(2) }));
        await store.callbacks.settle([callback('a', 'p').id], {
          status: 'delivered',
          settled_at: time(5),
          parent_run: 2,
        });
        await reopen();
        assert.deepEqual(await store.callbacks.find('p'), [
          callback('a', 'p', { created_at: time(1), status: 'delivered', settled_at: time(5), parent_run: 2 }),
          callback('b', 'p', { created_at: time(2) }),
        ]);
        assert.deepEqual(
          (await store.callbacks.find('p', 'pending')).map((c) => c.child),
          ['b'],
        );
      });

      it('names the parents that may be resumed now: deleted or idle, with no callback child queued or running', async () => {
        await store.sessions.insert(session('idle', { state: 'finished' }));
        await store.sessions.insert(session('busy', { state: 'running' }));
        await store.sessions.insert(session('waits', { state: 'failed' }));
        await store.sessions.insert(session('plain', { state: 'stopped' }));
        await store.sessions.insert(session('settled', { state: 'finished' }));
        await store.sessions.insert(child('w1', 'waits', 'finished'));
        await store.sessions.insert(child('w2', 'waits', 'queued'));
        await store.sessions.insert(child('p1', 'plain', 'finished'));
        await store.sessions.insert(child('p2', 'plain', 'running', { callback: false }));
        for (const [name, parent] of [
          ['i1', 'idle'],
          ['b1', 'busy'],
          ['w1', 'waits'],
          ['p1', 'plain'],
          ['g1', 'gone'],
          ['s1', 'settled'],
        ] as const) {
          await store.callbacks.insert(callback(name, parent));
        }
        await store.callbacks.settle([callback('s1', 'settled').id], {
          status: 'delivered',
          settled_at: time(5),
          parent_run: 2,
        });
        assert.deepEqual((await store.callbacks.deliverableParents()).sort(), ['gone', 'idle', 'plain']);
        await store.sessions.replace(child('w2', 'waits', 'finished'));
        await store.sessions.replace(session('busy', { state: 'finished', runs: 2 }));
        assert.deepEqual((await store.callbacks.deliverableParents()).sort(), [
          'busy',
          'gone',
          'idle',
          'plain',
          'waits',
        ]);
      });
    });

    describe('webhooks', () => {
      it('adds deliveries due now, once per id, and finds them by session', async () => {
        await store.webhooks.add([notice('wh_a'), notice('wh_b', { session: 'other', url: 'http://second.example/' })]);
        await store.webhooks.add([notice('wh_a', { body: 'a second add', run: 7 })]);
        const a = await store.webhooks.get('wh_a');
        assert.deepEqual(
          { ...a, created_at: undefined, next_try_at: undefined },
          {
            ...notice('wh_a'),
            state: 'pending',
            attempts: 0,
            last_error: null,
            finished_at: null,
            created_at: undefined,
            next_try_at: undefined,
          },
          'the first add stays',
        );
        assert.ok(
          Date.parse(a!.next_try_at) <= Date.now() && Math.abs(Date.parse(a!.created_at) - Date.now()) < 60_000,
        );
        assert.equal(await store.webhooks.get('wh_none'), null);
        assert.deepEqual(
          (await store.webhooks.find({ session: 's' })).map((d) => d.id),
          ['wh_a'],
        );
        assert.equal(await store.webhooks.nextDueInMs(), 0);
        assert.equal(await store.webhooks.countPending(), 2);
      });

      it('gives each due delivery to one claimant, also when many claim at once', async () => {
        await store.webhooks.add(Array.from({ length: 12 }, (_, i) => notice(`wh_${String(i).padStart(2, '0')}`)));
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.webhooks.claim(`sender-${i}`, 60_000, 3)),
        );
        const ids = claims
          .flat()
          .map((d) => d.id)
          .sort();
        assert.deepEqual(
          ids,
          Array.from({ length: 12 }, (_, i) => `wh_${String(i).padStart(2, '0')}`),
          'every one claimed, none twice',
        );
        assert.ok(
          claims.every((c) => c.length <= 3),
          'at most the limit',
        );
        assert.deepEqual(await store.webhooks.claim('late', 60_000, 10), [], 'claimed ones are not due');
        assert.equal(await store.webhooks.countPending(), 12, 'claimed ones are pending still');
        assert.ok((await store.webhooks.nextDueInMs())! > 50_000, 'due again when the claims end');
      });

      it("lets another claimant take a delivery whose claim ran out, and then refuses the first one's attempt", async () => {
        await store.webhooks.add([notice('wh_x')]);
        assert.deepEqual(
          (await store.webhooks.claim('first', 1000, 10)).map((d) => d.id),
          ['wh_x'],
        );
        assert.deepEqual(await store.webhooks.claim('second', 60_000, 10), []);
        assert.deepEqual(
          (await claimWhenDue(() => store.webhooks.claim('second', 60_000, 10))).map((d) => d.id),
          ['wh_x'],
        );
        assert.equal(await store.webhooks.settle('wh_x', 'first', { state: 'delivered' }), false);
        assert.equal((await store.webhooks.get('wh_x'))!.state, 'pending');
        assert.equal(await store.webhooks.settle('wh_x', 'second', { state: 'delivered' }), true);
        assert.equal(
          await store.webhooks.settle('wh_x', 'second', { state: 'delivered' }),
          false,
          'the claim ended with the attempt',
        );
        assert.equal(await store.webhooks.countPending(), 0, 'a delivered one is not pending');
      });

      it('records failed attempts, due again after the retry pause, until delivered or given up', async () => {
        await store.webhooks.add([notice('wh_r'), notice('wh_g')]);
        await store.webhooks.claim('me', 60_000, 10);
        assert.equal(
          await store.webhooks.settle('wh_r', 'me', { state: 'pending', error: 'HTTP 503', retryInMs: 1000 }),
          true,
        );
        assert.equal(await store.webhooks.settle('wh_g', 'me', { state: 'given_up', error: 'HTTP 410' }), true);
        const retried = (await store.webhooks.get('wh_r'))!;
        assert.deepEqual(
          [retried.state, retried.attempts, retried.last_error, retried.finished_at],
          ['pending', 1, 'HTTP 503', null],
        );
        const next = await store.webhooks.nextDueInMs();
        assert.ok(next! > 0 && next! <= 1000, `due in at most 1 s, not ${next}`);
        assert.deepEqual(
          await store.webhooks.claim('me', 60_000, 10),
          [],
          'not before its time, and a given up one never',
        );
        assert.deepEqual(
          (await claimWhenDue(() => store.webhooks.claim('me', 60_000, 10))).map((d) => d.id),
          ['wh_r'],
        );
        assert.equal(await store.webhooks.settle('wh_r', 'me', { state: 'delivered' }), true);
        const delivered = (await store.webhooks.get('wh_r'))!;
        assert.deepEqual([delivered.state, delivered.attempts, delivered.last_error], ['delivered', 2, 'HTTP 503']);
        assert.ok(delivered.finished_at);
        const given = (await store.webhooks.get('wh_g'))!;
        assert.deepEqual([given.state, given.attempts, given.last_error], ['given_up', 1, 'HTTP 410']);
        assert.equal(await store.webhooks.nextDueInMs(), null, 'none pending');
        assert.deepEqual(await store.webhooks.claim('me', 60_000, 10), []);
      });

      it('makes a released delivery due at once, without counting an attempt', async () => {
        await store.webhooks.add([notice('wh_l')]);
        await store.webhooks.claim('closing', 60_000, 10);
        await store.webhooks.release('wh_l', 'someone else');
        assert.deepEqual(await store.webhooks.claim('next', 60_000, 10), [], 'only the claimant releases');
        await store.webhooks.release('wh_l', 'closing');
        const [again] = await store.webhooks.claim('next', 60_000, 10);
        assert.deepEqual([again?.id, again?.attempts], ['wh_l', 0]);
      });

      it('prunes finished deliveries by age and beyond a count, never pending ones', async () => {
        await store.webhooks.add(['wh_1', 'wh_2', 'wh_3', 'wh_4', 'wh_p'].map((id) => notice(id)));
        await store.webhooks.claim('me', 60_000, 10);
        for (const id of ['wh_1', 'wh_2', 'wh_3', 'wh_4']) {
          await store.webhooks.settle(id, 'me', { state: 'delivered' });
          await pause(5);
        }
        await store.webhooks.release('wh_p', 'me');
        assert.equal(await store.webhooks.prune({ olderThanMs: 60_000, keep: 2 }), 2);
        const left = async () => (await store.webhooks.find({ session: 's' })).map((d) => d.id).sort();
        assert.deepEqual(await left(), ['wh_3', 'wh_4', 'wh_p'], 'the most recently finished stay');
        await pause(20);
        assert.equal(await store.webhooks.prune({ olderThanMs: 10, keep: 100 }), 2);
        assert.deepEqual(await left(), ['wh_p']);
      });

      it('keeps pending deliveries across a close and reopen, and what an exclusive work adds', async () => {
        await store.exclusive('s', (tx) => tx.webhooks.add([notice('wh_tx')]));
        await store.webhooks.add([notice('wh_kept')]);
        await reopen();
        assert.deepEqual((await store.webhooks.find({ session: 's' })).map((d) => [d.id, d.state]).sort(), [
          ['wh_kept', 'pending'],
          ['wh_tx', 'pending'],
        ]);
        assert.deepEqual((await store.webhooks.claim('after', 60_000, 10)).map((d) => d.id).sort(), [
          'wh_kept',
          'wh_tx',
        ]);
      });
    });
  });
}
