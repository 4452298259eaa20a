#!/usr/bin/env bash
# The whole test suite: generated code is current, the code is formatted and lint-free (Biome), types check,
# the build works, then mocha.
# Extra arguments go to mocha (e.g. `npm test -- test/registry`).
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/gen.mjs --check
npx biome check .
npx tsc --noEmit -p tsconfig.json
npx tsc -p tsconfig.build.json
if [ $# -eq 0 ]; then set -- "test/**/*.test.ts"; fi
npx mocha "$@"
