#!/usr/bin/env bash
# The whole test suite: generated code is current, the code is formatted and lint-free (Biome), types check,
# the build works, then mocha, in parallel (test/README.md says what keeps the files apart).
# Extra arguments go to mocha (e.g. `npm test -- test/registry`).
# AOF_TEST_JOBS: how many test files run at once (default 3: most of a test's time is spent waiting on
# processes it started, so 3 keep the 2 cores of the reference machine busy).
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/gen.mjs --check
npx biome check .
npx tsc --noEmit -p tsconfig.json
npx tsc -p tsconfig.build.json
if [ $# -eq 0 ]; then
  # The longest files first, so that no long file starts last and runs alone at the end; then the rest.
  longest=(
    test/fuzz/contract-fuzz.test.ts
    test/scale/multi-host.test.ts
    test/runtime/runners.test.ts
    test/runtime/approvals.test.ts
    test/bin/sessions.test.ts
    test/runtime/webhook-outbox.test.ts
    test/runtime/start-failures.test.ts
    test/runtime/structured-output.test.ts
    test/runtime/teams.test.ts
    test/mcp/stdio.test.ts
    test/mcp/http.test.ts
    test/plugin/plugin.test.ts
    test/dashboard/dashboard.test.ts
    test/runtime/store-retention.test.ts
    test/runtime/executor.test.ts
    test/runtime/agent-clis.test.ts
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
npx mocha --parallel --jobs "${AOF_TEST_JOBS:-3}" --require test/support/shared-postgres.ts "$@"
