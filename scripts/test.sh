#!/usr/bin/env bash
# The whole test suite: generated code is current, the code is formatted and lint-free (Biome), types check,
# the build works, then mocha, in parallel (test/README.md says what keeps the files apart).
# Extra arguments go to mocha (e.g. `npm test -- test/registry`).
# AOF_TEST_JOBS: how many test files run at once (default 3: most of a test's time is spent waiting on
# processes it started, so 3 keep the 2 cores of the reference machine busy).
# AOF_TEST_TIMINGS=1: each step's wall time on stderr, and the slowest test files (summary-reporter.cjs).
# AOF_TEST_TIMINGS=keep: the same, and the per-file lines (worker pid, start, end) are kept in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
step() {
  local began=$SECONDS status=0
  "$@" || status=$?
  if [ -n "${AOF_TEST_TIMINGS:-}" ]; then echo "step: $((SECONDS - began)) s: $*" >&2; fi
  return $status
}
# The checks and the build at once (the type checks each keep one core busy for most of their time);
# each one's output is shown together, and any that fails stops the run. The build
# runs only when a source changed since the last one (scripts/build-if-stale.mjs): after `npm ci` (its
# `prepare`) or `npm run build` there is nothing to do; CI installs with AOF_SKIP_PREPARE=1 so that the
# build happens here, beside the type check, rather than alone before it.
checks() {
  local dir pids=() names=(
    "node scripts/gen.mjs --check"
    "npx biome check ."
    "npx tsc --noEmit -p tsconfig.json"
    "npx tsc --noEmit -p dashboard/tsconfig.json"
    "node scripts/build-if-stale.mjs"
  )
  dir=$(mktemp -d)
  for i in "${!names[@]}"; do
    (step ${names[$i]}) >"$dir/$i" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for i in "${!names[@]}"; do
    if ! wait "${pids[$i]}"; then failed=1; fi
    cat "$dir/$i" >&2
  done
  rm -rf "$dir"
  return $failed
}
checks
if [ $# -eq 0 ]; then
  # The longest files first, so that no long file starts last and runs alone at the end; then the rest.
  # Ordered by AOF_TEST_TIMINGS=1 (wall time of each file in a parallel run of 3 jobs).
  longest=(
    test/runtime/agent-clis.test.ts
    test/runtime/schedule-replicas.test.ts
    test/runtime/warm-pool.test.ts
    test/fuzz/contract-fuzz.test.ts
    test/fuzz/contract-fuzz-local.test.ts
    test/bin/sessions.test.ts
    test/runtime/runners.test.ts
    test/runtime/approvals.test.ts
    test/runtime/webhook-outbox.test.ts
    test/runtime/start-failures.test.ts
    test/bin/commands.test.ts
    test/runtime/teams.test.ts
    test/mcp/http.test.ts
    test/runtime/executor.test.ts
    test/bin/restart.test.ts
    test/plugin/plugin.test.ts
    test/bin/words.test.ts
    test/bin/worktree.test.ts
    test/bin/fork.test.ts
    test/mcp/stdio.test.ts
    test/dashboard/dashboard.test.ts
    test/dashboard/access.test.ts
    test/bin/agents.test.ts
    test/bin/structured-output.test.ts
    test/scale/multi-host.test.ts
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
# counts every worker's tests in its closing line.
step npx mocha --parallel --jobs "${AOF_TEST_JOBS:-3}" --require test/support/shared-postgres.ts "$@"
