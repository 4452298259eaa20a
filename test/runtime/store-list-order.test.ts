// Pure parts of listing: the list order, cursors, and the embedded store's catalogue.
import assert from 'node:assert/strict';
import { Catalogue, type CatalogueEntry } from '../../servers/runtime/store/catalogue.js';
import { BadCursorError, compareListOrder, decodeCursor, encodeCursor } from '../../servers/runtime/store/cursor.js';

const entry = (name: string, updated_at: string, extra: Partial<CatalogueEntry> = {}): CatalogueEntry => ({
  name,
  updated_at,
  state: 'finished',
  agent: null,
  project_dir: '/p',
  waiting: false,
  ...extra,
});

describe('store: list order and cursors', () => {
  it('orders by updated_at descending, then name ascending', () => {
    const items = [
      entry('b', '2026-01-01T00:00:00.000Z'),
      entry('a', '2026-01-01T00:00:00.000Z'),
      entry('z', '2026-02-01T00:00:00.000Z'),
    ];
    assert.deepEqual(
      items.sort(compareListOrder).map((e) => e.name),
      ['z', 'a', 'b'],
    );
  });

  it('round-trips a position through an opaque cursor and refuses anything else', () => {
    const position = { updated_at: '2026-03-04T05:06:07.890Z', name: 'x-1' };
    const cursor = encodeCursor(position);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(cursor), position);
    for (const bad of [
      '',
      '!!',
      'abc',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('["not a date","x"]').toString('base64url'),
      Buffer.from('["2026-01-01T00:00:00Z",""]').toString('base64url'),
      Buffer.from('["2026-01-01T00:00:00Z","a","b"]').toString('base64url'),
    ]) {
      assert.throws(() => decodeCursor(bad), BadCursorError, bad);
    }
  });

  it('the catalogue pages strictly after a position, filters, and counts every state', () => {
    const catalogue = new Catalogue();
    for (let i = 0; i < 10; i++) {
      catalogue.set(
        entry(`s${i}`, `2026-01-01T00:00:0${i}.000Z`, {
          state: i % 2 ? 'failed' : 'finished',
          agent: i < 3 ? 'rev' : null,
          waiting: i === 4,
        }),
      );
    }
    assert.deepEqual(catalogue.page({}, null, 3), ['s9', 's8', 's7']);
    assert.deepEqual(catalogue.page({}, { updated_at: '2026-01-01T00:00:07.000Z', name: 's7' }, 3), ['s6', 's5', 's4']);
    assert.deepEqual(catalogue.page({ states: ['failed'] }, null, 10), ['s9', 's7', 's5', 's3', 's1']);
    assert.deepEqual(catalogue.page({ agent: 'rev', states: ['finished', 'failed'] }, null, 10), ['s2', 's1', 's0']);
    assert.deepEqual(catalogue.page({ prefix: 's1' }, null, 10), ['s1']);
    assert.deepEqual(catalogue.page({ waiting: true }, null, 10), ['s4']);
    assert.equal(catalogue.page({ waiting: false }, null, 10).length, 9);
    assert.deepEqual(catalogue.counts(), { queued: 0, running: 0, finished: 5, failed: 5, stopped: 0 });
    catalogue.set(entry('s0', '2026-01-02T00:00:00.000Z', { state: 'running' }));
    catalogue.delete('s9');
    assert.deepEqual(catalogue.page({}, null, 2), ['s0', 's8']);
    assert.deepEqual(catalogue.counts(), { queued: 0, running: 1, finished: 4, failed: 4, stopped: 0 });
  });

  it('stays in list order through many random updates and deletions (against a sort of everything)', () => {
    const catalogue = new Catalogue();
    const reference = new Map<string, CatalogueEntry>();
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const states = ['queued', 'running', 'finished', 'failed', 'stopped'] as const;
    for (let step = 0; step < 2000; step++) {
      const name = `n${random(300)}`;
      if (random(5) === 0) {
        catalogue.delete(name);
        reference.delete(name);
      } else {
        const e = entry(name, `2026-01-01T00:${String(random(60)).padStart(2, '0')}:00.000Z`, {
          state: states[random(5)]!,
          parent: random(3) ? `p${random(4)}` : null,
        });
        catalogue.set(e);
        reference.set(name, e);
      }
    }
    const expected = [...reference.values()].sort(compareListOrder);
    assert.deepEqual(
      catalogue.page({}, null, 1000),
      expected.map((e) => e.name),
    );
    const middle = expected[Math.floor(expected.length / 2)]!;
    assert.deepEqual(
      catalogue.page({ states: ['failed'] }, middle, 10),
      expected
        .filter((e) => compareListOrder(e, middle) > 0 && e.state === 'failed')
        .slice(0, 10)
        .map((e) => e.name),
    );
    // A parent's children, read from their own index: the same as a pass over everything.
    for (const parent of ['p0', 'p1', 'p3', 'p9']) {
      for (const after of [null, middle]) {
        assert.deepEqual(
          catalogue.page({ parent, states: ['queued', 'running'] }, after, 1000),
          expected
            .filter(
              (e) =>
                e.parent === parent &&
                (!after || compareListOrder(e, after) > 0) &&
                ['queued', 'running'].includes(e.state),
            )
            .map((e) => e.name),
        );
      }
      assert.deepEqual(
        catalogue.page({ parent }, null, 5),
        expected
          .filter((e) => e.parent === parent)
          .slice(0, 5)
          .map((e) => e.name),
      );
    }
    const counts = Object.fromEntries(states.map((s) => [s, expected.filter((e) => e.state === s).length]));
    assert.deepEqual(catalogue.counts(), counts);
    assert.equal(catalogue.size, reference.size);
  });
});
