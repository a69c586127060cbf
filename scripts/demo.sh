#!/usr/bin/env bash
# The README's main job (`npm run demo`): installs what the demo needs, builds the CLI, then starts the
# bundled NumPy workload, analyses it and prints where it could migrate. Extra arguments go to the CLI
# (e.g. `npm run demo -- --json`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
node esbuild.mjs
exec node dist/cli.js demo "$@"
