#!/usr/bin/env bash
# The whole test suite: generated code is current, the code is formatted and lint-free (Biome), types check,
# the build works, and mocha, in parallel (test/README.md says what keeps the files apart).
# Extra arguments go to mocha (e.g. `npm test -- test/registry`).
# AOF_TEST_JOBS: how many test files run at once (default 4: most of a test's time is spent waiting on
# processes it started or on a clock it cannot hurry, a sweep or a schedule; with 3, the 2 cores of the
# reference machine idled a quarter of the time while three such files ran at once).
# AOF_TEST_TIMINGS=1: each step's wall time on stderr, and the slowest test files (summary-reporter.cjs).
# AOF_TEST_TIMINGS=keep: the same, and the per-file lines (worker pid, start, end, the worker's CPU) are kept in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
step() {
  local began=$SECONDS status=0
  "$@" || status=$?
  if [ -n "${AOF_TEST_TIMINGS:-}" ]; then echo "step: $((SECONDS - began)) s: $*" >&2; fi
  return $status
}
# The build first (the tests run the built commands of dist/), and the checks beside it: the generated
# code is current, Biome, the type checks of the code and of the dashboard. Mocha starts as soon as the
# build is done, the checks still running beside it (each keeps one core busy for a while), at a lower
# priority (nice): the build, on which the tests wait, and then the tests come first. The build runs
# only when a source changed since the last one (scripts/build-if-stale.mjs): after `npm ci` (its
# `prepare`) or `npm run build` there is nothing to do; CI installs with AOF_SKIP_PREPARE=1 so that the
# build happens here, beside the checks, rather than alone before them. Each check's output is shown after
# mocha's; a check that failed fails the run and counts as one more failure in the closing line.
# The tools run from node_modules/.bin rather than through npx (~0.4 s of CPU each). The type checks are
# TypeScript 7's (the native compiler, pinned as the `typescript7` alias): ~5 CPU-s for both where
# TypeScript 5.9 took ~28. TypeScript 5.9 (`typescript`) stays for what uses its JavaScript API
# (openapi-typescript in scripts/gen.mjs) and for the SDK's declarations (scripts/build-sdk.mjs).
tools=node_modules/.bin
tsc=node_modules/typescript7/bin/tsc
checks=(
  "node scripts/gen.mjs --check"
  "$tools/biome check ."
  "$tsc --noEmit -p tsconfig.json"
  "$tsc --noEmit -p dashboard/tsconfig.json"
)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pids=()
for i in "${!checks[@]}"; do
  (renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true; step ${checks[$i]}) >"$out/$i" 2>&1 &
  pids+=($!)
done
built=0
step node scripts/build-if-stale.mjs >&2 || built=$?
if [ $# -eq 0 ]; then
  # The longest files first, so that no long file starts last and runs alone at the end; then the rest.
  # Ordered by AOF_TEST_TIMINGS=1 (wall time of each file in a parallel run of 3 jobs).
  longest=(
    test/runtime/schedule-replicas.test.ts
    test/runtime/agent-clis.test.ts
    test/runtime/webhook-outbox.test.ts
    test/runtime/warm-pool.test.ts
    test/dashboard/dashboard.test.ts
    test/dashboard/changes.test.ts
    test/bin/sessions.test.ts
    test/mcp/http.test.ts
    test/runtime/runners.test.ts
    test/runtime/approvals.test.ts
    test/runtime/teams.test.ts
    test/runtime/shared-callbacks.test.ts
    test/scale/multi-host.test.ts
    test/mcp/stdio.test.ts
    test/runtime/schedules.test.ts
    test/bin/words.test.ts
    test/runtime/usage-limits.test.ts
    test/dashboard/scale.test.ts
    test/runtime/start-failures.test.ts
    test/fuzz/contract-fuzz.test.ts
    test/runtime/executor.test.ts
    test/runtime/store-postgres.test.ts
    test/runtime/scopes.test.ts
    test/dashboard/approvals.test.ts
    test/runtime/postgres-restart.test.ts
    test/fuzz/contract-fuzz-local.test.ts
    test/bin/commands.test.ts
    test/bin/restart.test.ts
    test/plugin/plugin.test.ts
    test/bin/worktree.test.ts
    test/bin/fork.test.ts
    test/dashboard/access.test.ts
    test/bin/agents.test.ts
    test/bin/structured-output.test.ts
    test/bin/errors.test.ts
    test/runtime/structured-output.test.ts
  )
  shopt -s globstar
  first=()
  rest=()
  for file in test/**/*.test.ts; do
    case " ${longest[*]} " in *" $file "*) ;; *) rest+=("$file") ;; esac
  done
  for file in "${longest[@]}"; do
    if [ -e "$file" ]; then first+=("$file"); fi
  done
  set -- "${first[@]}" "${rest[@]}"
fi
# One PostgreSQL server for all the workers (test/support/shared-postgres.ts); the summary reporter
# counts every worker's tests in its closing line, which is copied here to add the failed checks to.
mocha=0
if [ "$built" -eq 0 ]; then
  color=()
  if [ -t 1 ]; then color=(--color); fi
  step "$tools/mocha" --parallel --jobs "${AOF_TEST_JOBS:-4}" --require test/support/shared-postgres.ts \
    "${color[@]}" "$@" | tee "$out/mocha" || mocha=$?
fi
failed=()
for i in "${!checks[@]}"; do
  if ! wait "${pids[$i]}"; then failed+=("${checks[$i]}"); fi
  cat "$out/$i" >&2
done
if [ "$built" -ne 0 ]; then failed+=("the build (node scripts/build-if-stale.mjs), so no test ran"); fi
# The closing line: mocha's counts (none when it did not run or died before its summary), each failed
# check one more failure.
passed=0 failures=0 skipped=0
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/mocha" 2>/dev/null | tail -1 || true)
if [ -n "$summary" ]; then
  read -r passed _ failures _ skipped _ <<<"${summary//,/}"
elif [ "$mocha" -ne 0 ]; then
  failed+=("mocha (exit code $mocha, no summary)")
fi
for check in "${failed[@]}"; do echo "failed: $check" >&2; done
echo
echo "$passed passed, $((failures + ${#failed[@]})) failed, $skipped skipped"
if [ "$mocha" -ne 0 ]; then exit "$mocha"; fi
if [ ${#failed[@]} -gt 0 ]; then exit 1; fi
