#!/usr/bin/env bash
# `npm run eval`: installs what the evaluation needs, type-checks/builds the engine, and runs the suite
# (eval/run.mjs), which writes docs/evaluation.md and docs/evaluation-recall.svg. Arguments are passed on,
# e.g. `npm run eval -- --quick` or `npm run eval -- --only matmul,sha`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
npx tsc -b
node eval/run.mjs "$@"
