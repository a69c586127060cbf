#!/usr/bin/env bash
# `npm run bench`: installs what the benchmarks need, builds, then prints the performance table
# (bench/table.mjs; docs/performance.md). Arguments are passed on: --repeat N, --eval, --only a,b, --e2e, --json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
npx tsc -b
node esbuild.mjs
node bench/table.mjs "$@"
