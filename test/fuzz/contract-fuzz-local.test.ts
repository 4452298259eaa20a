import assert from 'node:assert/strict';
import { formatReport, runFuzz } from './fuzzer.js';

/**
 * The contract fuzz's second sample: creation, resumption, stops and deletions racing real Claude Code processes
 * (the local executor). A file of its own so that it runs beside the first sample (contract-fuzz.test.ts).
 * FUZZ_SEED and FUZZ_LOCAL_RUNS reproduce or resize it; the seed is printed either way.
 */
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261125;
const LOCAL_RUNS = process.env.FUZZ_LOCAL_RUNS ? Number(process.env.FUZZ_LOCAL_RUNS) : 120;

describe('contract fuzz (executor local)', function () {
  this.timeout(300_000);

  it(`create, resume, stop and delete racing real Claude Code processes, ${LOCAL_RUNS} requests (executor local)`, async () => {
    const report = await runFuzz({ seed: SEED, runs: LOCAL_RUNS, executor: 'local' });
    process.stdout.write(`${formatReport(report).replace(/^/gm, '      ')}\n`);
    assert.deepEqual(
      report.failures,
      [],
      `FUZZ_SEED=${SEED} FUZZ_LOCAL_RUNS=${LOCAL_RUNS} reproduces this:\n${report.serverErrors.join('\n')}`,
    );
    assert.ok((report.byOperation.createSession?.['201'] ?? 0) > 0, 'no session was started');
  });
});
