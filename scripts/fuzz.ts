// `npm run fuzz`: the contract fuzz at full size against both servers (see test/fuzz/). Prints the
// counts per operation and per status; exits 1 when any answer or any acknowledged write was wrong.
// FUZZ_SEED reproduces a run, FUZZ_RUNS sizes it (default 10,000 requests with executor `none`),
// FUZZ_LOCAL_RUNS the sample with the local executor and real Claude Code (default 300).
import { formatReport, fuzzSettings, runFuzz, type FuzzReport } from '../test/fuzz/fuzzer.js';

const { seed, runs } = fuzzSettings(10_000);
const localRuns = Number(process.env.FUZZ_LOCAL_RUNS ?? 300);
const reports: FuzzReport[] = [];
process.stderr.write(`fuzz: seed ${seed} (FUZZ_SEED=${seed} reproduces this run)\n`);
reports.push(
  await runFuzz({
    seed,
    runs,
    executor: 'none',
    progress: (n) => process.stderr.write(`fuzz: ${n} requests planned so far\n`),
  }),
);
if (localRuns > 0) reports.push(await runFuzz({ seed, runs: localRuns, executor: 'local' }));
for (const report of reports) {
  process.stdout.write(`${formatReport(report)}\n`);
  for (const failure of report.failures) process.stdout.write(`FAIL ${failure}\n`);
  if (report.failures.length) for (const line of report.serverErrors) process.stdout.write(`server log: ${line}\n`);
  process.stdout.write('\n');
}
process.exitCode = reports.some((r) => r.failures.length) ? 1 : 0;
