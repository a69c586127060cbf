#!/usr/bin/env bash
# The README's test command (`npm test`): installs what the tests need, builds, type-checks, and runs
# every test suite with node's test runner. Test fixtures (C programs, Python packages) are built by the
# tests themselves into out/fixtures. Then the E2E suite in code-server (docs/testing.md): its first run
# installs code-server into .e2e/ (about 4 min); PYGRATION_SKIP_E2E=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
node esbuild.mjs
npx tsc -b
node --test --test-concurrency=1 out/test/unit/
if [ "${PYGRATION_SKIP_E2E:-}" = 1 ]; then
  echo "test: PYGRATION_SKIP_E2E=1, the E2E suite is skipped" >&2
else
  bash scripts/e2e-setup.sh
  node --test --test-concurrency=1 out/test/e2e/*.e2e.js
fi
