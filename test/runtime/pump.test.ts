// The pump (servers/runtime/pump.ts) the runtime's background actors share: one run at a time, no wake lost.
import assert from 'node:assert/strict';
import { Pump } from '../../servers/runtime/pump.js';

/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('pump', () => {
  it('runs one job at a time, and once more after a run when woken during it, however often', async () => {
    let runs = 0;
    let inside = 0;
    let most = 0;
    const gates = [gate(), gate()];
    const pump = new Pump(
      async () => {
        inside++;
        most = Math.max(most, inside);
        await gates[runs++]?.opened;
        inside--;
      },
      (error) => assert.fail(String(error)),
    );
    pump.wake();
    pump.wake();
    pump.wake();
    assert.equal(runs, 1);
    gates[0]!.open();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(runs, 2, 'the wakes during the first run made one more run');
    gates[1]!.open();
    await pump.close();
    assert.equal(runs, 2);
    assert.equal(most, 1, 'never two runs at once');
    pump.wake();
    assert.equal(runs, 2, 'no run after close');
  });

  it('tells what a run threw and keeps going; close waits for the run in flight', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const done = gate();
    const pump = new Pump(
      async () => {
        calls++;
        if (calls === 1) throw new Error('store away');
        await done.opened;
      },
      (error) => errors.push(error),
    );
    pump.wake();
    await new Promise((resolve) => setImmediate(resolve));
    pump.wake();
    let closed = false;
    const closing = pump.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false, 'the second run is still in flight');
    done.open();
    await closing;
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['store away'],
    );
    assert.equal(calls, 2);
  });
});
