import assert from 'node:assert/strict';
import { backoffMs } from '../../sdk/backoff.js';

describe('backoffMs', () => {
  it('starts at the first pause, doubles it at each retry, and stops at the cap (5 s unless told)', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 10, 60].map((attempt) => backoffMs(attempt, 250)),
      [250, 500, 1000, 2000, 4000, 5000, 5000, 5000],
    );
    assert.deepEqual(
      [0, 1, 4, 5].map((attempt) => backoffMs(attempt, 100, 2000)),
      [100, 200, 1600, 2000],
    );
  });
});
