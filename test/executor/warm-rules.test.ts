// What the pool of warm Claude Code processes keeps (servers/executor/warm-rules.ts), pure: demand,
// the cap, the time to live, and the key of what is fixed when Claude Code starts.
import assert from 'node:assert/strict';
import { launchKey, liveWants, planPool, type LaunchParts } from '../../servers/executor/warm-rules.js';

const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const limits = { max: 4, idleTtlMs: 60_000, maxStarting: 8 };

describe('warm pool rules', () => {
  it('starts as many as wanted for each key, most wanted first', () => {
    const plan = planPool(
      [],
      [
        { key: 'a', count: 2 },
        { key: 'b', count: 1 },
      ],
      T0,
      limits,
    );
    assert.deepEqual(plan, { start: ['a', 'a', 'b'], end: [] });
  });

  it('starts only the missing ones', () => {
    const plan = planPool([{ id: 's1', key: 'a', since: T0 }], [{ key: 'a', count: 2 }], T0 + 1000, limits);
    assert.deepEqual(plan, { start: ['a'], end: [] });
  });

  it('never goes over the cap, over all keys', () => {
    const plan = planPool(
      [{ id: 's1', key: 'a', since: T0 }],
      [
        { key: 'a', count: 3 },
        { key: 'b', count: 3 },
      ],
      T0,
      limits,
    );
    assert.deepEqual(plan, { start: ['a', 'a', 'b'], end: [] });
  });

  it('ends an idle process once its time to live is over, and starts a fresh one if still wanted', () => {
    const slots = [{ id: 's1', key: 'a', since: T0 }];
    assert.deepEqual(planPool(slots, [{ key: 'a', count: 1 }], T0 + 59_999, limits), { start: [], end: [] });
    assert.deepEqual(planPool(slots, [{ key: 'a', count: 1 }], T0 + 60_000, limits), { start: ['a'], end: ['s1'] });
    assert.deepEqual(planPool(slots, [], T0 + 60_000, limits), { start: [], end: ['s1'] });
  });

  it('ends processes nobody wants any more: an expired want, or more than wanted (the newest kept)', () => {
    const slots = [
      { id: 'old', key: 'a', since: T0 },
      { id: 'new', key: 'a', since: T0 + 10 },
      { id: 'f', key: 'follow-up', since: T0 },
    ];
    const wants = [
      { key: 'a', count: 1 },
      { key: 'follow-up', count: 1, until: T0 + 5000 },
    ];
    assert.deepEqual(planPool(slots, wants, T0 + 4999, limits), { start: [], end: ['old'] });
    assert.deepEqual(planPool(slots, wants, T0 + 5000, limits), { start: [], end: ['f', 'old'] });
  });

  it('shares the cap out in the order of the wants: the less wanted keys lose their processes first', () => {
    const slots = [0, 1, 2].map((i) => ({ id: `s${i}`, key: `k${i}`, since: T0 + i }));
    const wants = slots.map((s) => ({ key: s.key, count: 1 }));
    assert.deepEqual(planPool(slots, wants, T0 + 10, { ...limits, max: 1 }), { start: [], end: ['s1', 's2'] });
    assert.deepEqual(planPool(slots, wants, T0 + 10, { ...limits, max: 0 }).end, ['s0', 's1', 's2']);
    // A new, more wanted key takes the room of an idle process of a less wanted one.
    const more = [{ key: 'new', count: 1 }, ...wants];
    assert.deepEqual(planPool(slots, more, T0 + 10, { ...limits, max: 3 }), { start: ['new'], end: ['s2'] });
  });

  it('starts at most maxStarting at once, counting those still starting', () => {
    const wants = [{ key: 'a', count: 4 }];
    assert.deepEqual(planPool([], wants, T0, { ...limits, maxStarting: 1 }), { start: ['a'], end: [] });
    const starting = [{ id: 's1', key: 'a', since: T0, starting: true }];
    assert.deepEqual(planPool(starting, wants, T0, { ...limits, maxStarting: 1 }), { start: [], end: [] });
    const ready = [{ id: 's1', key: 'a', since: T0 }];
    assert.deepEqual(planPool(ready, wants, T0, { ...limits, maxStarting: 2 }), { start: ['a', 'a'], end: [] });
  });

  it('ends the oldest idle processes over the memory cap, never one still starting', () => {
    const MB = 1024 * 1024;
    const slots = [
      { id: 'old', key: 'a', since: T0, memory: 150 * MB },
      { id: 'mid', key: 'b', since: T0 + 1, memory: 150 * MB },
      { id: 'new', key: 'a', since: T0 + 2, memory: 150 * MB },
      { id: 'starting', key: 'c', since: T0 + 3, starting: true, memory: 20 * MB },
    ];
    const wants = [
      { key: 'a', count: 2 },
      { key: 'b', count: 1 },
      { key: 'c', count: 1 },
    ];
    const capped = { ...limits, maxStarting: 1 };
    assert.deepEqual(planPool(slots, wants, T0 + 10, capped), { start: [], end: [] });
    assert.deepEqual(planPool(slots, wants, T0 + 10, { ...capped, maxMemory: 470 * MB }), { start: [], end: [] });
    assert.deepEqual(planPool(slots, wants, T0 + 10, { ...capped, maxMemory: 400 * MB }), {
      start: [],
      end: ['old'],
    });
    // One starting counts for what its key's last one held once started.
    const expectedMemory = new Map([['c', 150 * MB]]);
    assert.deepEqual(planPool(slots, wants, T0 + 10, { ...capped, maxMemory: 400 * MB, expectedMemory }), {
      start: [],
      end: ['mid', 'old'],
    });
    assert.deepEqual(planPool(slots, wants, T0 + 10, { ...capped, maxMemory: 100 * MB }).end, ['mid', 'new', 'old']);
  });

  it('starts none that would go over the memory cap (it would be ended at once, again and again)', () => {
    const MB = 1024 * 1024;
    const wants = [{ key: 'a', count: 3 }];
    const expectedMemory = new Map([['a', 150 * MB]]);
    const memory = { ...limits, maxMemory: 400 * MB, expectedMemory };
    assert.deepEqual(planPool([], wants, T0, memory), { start: ['a', 'a'], end: [] });
    const one = [{ id: 's1', key: 'a', since: T0, memory: 150 * MB }];
    assert.deepEqual(planPool(one, wants, T0, memory), { start: ['a'], end: [] });
    assert.deepEqual(planPool([], wants, T0, { ...memory, maxMemory: 100 * MB }), { start: [], end: [] });
    // Not measured yet: the count alone decides.
    assert.deepEqual(planPool([], wants, T0, { ...memory, expectedMemory: new Map() }).start, ['a', 'a', 'a']);
  });

  it('takes the largest live count of a key; zero and expired wants count for nothing', () => {
    const live = liveWants(
      [
        { key: 'a', count: 1 },
        { key: 'a', count: 3, until: T0 + 1 },
        { key: 'b', count: 0 },
        { key: 'c', count: 2, until: T0 },
      ],
      T0,
    );
    assert.deepEqual([...live], [['a', 3]]);
  });

  it('keys what is fixed at start: the same parts in any env order match; any other part does not', () => {
    const parts: LaunchParts = {
      bin: '/usr/bin/claude',
      cwd: '/p',
      args: ['-p', '--model', 'm'],
      mcpServers: null,
      env: { A: '1', B: '2' },
    };
    const key = launchKey(parts);
    assert.equal(launchKey({ ...parts, env: { B: '2', A: '1', C: undefined } }), key);
    for (const other of [
      { bin: '/opt/claude' },
      { cwd: '/q' },
      { args: ['-p', '--model', 'n'] },
      { mcpServers: { echo: { command: 'x' } } },
      { env: { A: '1', B: '3' } },
      { resume: '7d3c' },
    ])
      assert.notEqual(launchKey({ ...parts, ...other }), key, JSON.stringify(other));
  });
});
