// The session bus (session-bus.ts) on a real event log (the embedded one), with the notices of
// "other processes" handed to it by the test: a session's listeners get its events once each, in seq
// order and without gaps, however the notices and this process's own events interleave.
import assert from 'node:assert/strict';
import { SessionBus } from '../../servers/runtime/session-bus.js';
import type { Event } from '../../servers/runtime/session-store.js';
import { EventFiles } from '../../servers/runtime/store/event-files.js';
import type { NoticeListener } from '../../servers/runtime/store/interfaces.js';
import { eventually } from '../support/processes.js';
import { removeDir, tempDir } from '../support/servers.js';

describe('session bus: events from this process and others, in order', () => {
  let dir: string;
  let log: EventFiles;
  let hear: NoticeListener;
  let bus: SessionBus;

  beforeEach(async () => {
    dir = await tempDir('aof-bus-');
    log = await EventFiles.open(dir);
    bus = new SessionBus(log, {
      subscribe: (listener) => {
        hear = listener;
        return () => undefined;
      },
    });
  });
  afterEach(async () => {
    bus.close();
    await log.close();
    await removeDir(dir);
  });

  const write = (count: number) =>
    log.append(
      's',
      Array.from({ length: count }, () => ({
        session: 's',
        run: 1,
        type: 'message' as const,
        at: '2026-01-01T00:00:00.000Z',
        data: {},
      })),
    );
  /** A listener, as the SSE stream adds one: it reads the stored events itself after `following`. */
  const listen = async () => {
    const seqs: number[] = [];
    bus.onEvent('s', (event: Event) => seqs.push(event.seq));
    await bus.following('s');
    return seqs;
  };

  it('reads what another process wrote, and fills the gap before an own event that overtook it', async () => {
    await write(2); // before anyone listened
    const seqs = await listen();
    const theirs = await write(2); // 3, 4 by another process: its notice is late
    const ours = await write(2); // 5, 6 by this one
    bus.localEvents('s', ours);
    hear.notice({ kind: 'events', session: 's', first: theirs[0]!.seq, last: theirs[1]!.seq });
    await eventually('3..6', () => seqs.length === 4);
    assert.deepEqual(seqs, [3, 4, 5, 6]);
  });

  it('catches up after a resync with what was written while no notice came', async () => {
    const seqs = await listen();
    bus.localEvents('s', await write(1));
    await eventually('1', () => seqs.length === 1);
    await write(3); // notices lost with the connection
    hear.resync();
    await eventually('2..4', () => seqs.length === 4);
    assert.deepEqual(seqs, [1, 2, 3, 4]);
  });

  it("tells changes with where they were made, a deletion also to the session's listeners, and skips a session nobody follows", async () => {
    const changes: string[] = [];
    bus.onChange((change, local) => changes.push(`${change.name} ${change.change} ${local ? 'here' : 'elsewhere'}`));
    hear.notice({ kind: 'events', session: 'nobody', first: 1, last: 1000 });
    const deleted: string[] = [];
    bus.onDeleted('s', () => deleted.push('s'));
    bus.localChange({ name: 's', change: 'created', state: 'queued', run: 1, at: '2026-01-01T00:00:00.000Z' });
    hear.notice({
      kind: 'change',
      change: { name: 's', change: 'deleted', state: null, at: '2026-01-01T00:00:01.000Z' },
    });
    assert.deepEqual(changes, ['s created here', 's deleted elsewhere']);
    assert.deepEqual(deleted, ['s']);
  });

  it('follow: the stored events after the given one, then the live ones, each once and in order; its changes; its end', async () => {
    await write(3); // 1..3 stored before
    const seqs: number[] = [];
    let changed = 0;
    let ended = 0;
    const unfollow = bus.follow('s', {
      events: { after: 1, send: (event) => seqs.push(event.seq) },
      changed: () => changed++,
      ended: () => ended++,
    });
    bus.localEvents('s', await write(2)); // 4, 5 while the stored ones may still be read
    await eventually('2..5', () => seqs.length === 4);
    hear.notice({ kind: 'events', session: 's', first: 6, last: 6 });
    await write(1); // 6 by another process (its notice came first)
    hear.resync();
    await eventually('6', () => seqs.length === 5);
    assert.deepEqual(seqs, [2, 3, 4, 5, 6]);
    assert.ok(changed >= 1, 'a resync is told as a change');
    bus.localChange({ name: 'other', change: 'created', state: 'queued', run: 1, at: '2026-01-01T00:00:00.000Z' });
    const before = changed;
    bus.localChange({ name: 's', change: 'state', state: 'running', run: 1, at: '2026-01-01T00:00:00.000Z' });
    assert.equal(changed, before + 1, "only the session's own changes");
    bus.localChange({ name: 's', change: 'deleted', state: null, at: '2026-01-01T00:00:01.000Z' });
    assert.equal(ended, 1);
    bus.localEvents('s', await write(1));
    unfollow();
    assert.deepEqual(seqs, [2, 3, 4, 5, 6], 'nothing after its end');
  });
});
