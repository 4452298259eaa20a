import assert from 'node:assert/strict';
import { contractOperations } from './contract-operations.js';
import { formatReport, runFuzz } from './fuzzer.js';

/**
 * A seeded sample of the contract fuzz (`npm run fuzz` runs 10,000+ with a fresh seed).
 * FUZZ_SEED and FUZZ_RUNS reproduce or resize it; the seed is printed either way. The sample that races
 * agents' processes is contract-fuzz-local.test.ts.
 */
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261125;
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 2000;

describe('contract fuzz', function () {
  this.timeout(300_000);

  it(`every operation of both servers, ${RUNS} requests (executor none): no 5xx, problems name the field, nothing acknowledged is lost`, async () => {
    const report = await runFuzz({ seed: SEED, runs: RUNS, executor: 'none' });
    process.stdout.write(`${formatReport(report).replace(/^/gm, '      ')}\n`);
    assert.deepEqual(
      report.failures,
      [],
      `FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} reproduces this:\n${report.serverErrors.join('\n')}`,
    );
    // The sample must have reached every operation and built state worth checking.
    const reached = Object.keys(report.byOperation)
      .filter((op) => op !== 'raw')
      .sort();
    assert.deepEqual(reached, [...new Set(contractOperations().map((op) => op.operationId))].sort());
    // A floor, not the oracle: 2000 requests now spread over twice as many operations as when it was
    // set (schedules, triggers, audit, pull requests, merges), so fewer of them are valid writes.
    assert.ok(report.acknowledged > 30, `only ${report.acknowledged} writes were acknowledged`);
  });
});
