#!/usr/bin/env bash
# The README's test command (`npm test`): installs what the tests need, builds, type-checks, and runs
# every test suite with node's test runner. Test fixtures (C programs, Python packages) are built by the
# tests themselves into out/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
node esbuild.mjs
npx tsc -b
node --test --test-concurrency=1 out/test/unit/
