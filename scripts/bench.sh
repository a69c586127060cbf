#!/usr/bin/env bash
# `npm run bench`: installs what the benchmarks need, builds, then runs every benchmark script in bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
npx tsc -b
for b in bench/*.mjs; do
  echo "== $b"
  node "$b" "$@"
done
