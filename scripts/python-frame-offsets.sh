#!/usr/bin/env bash
# Regenerates the offsets of native/src/cpython/frameLayouts.ts: compiles test/fixtures/c/pyframes_offsets.c
# against every CPython's headers found (pyenv 3.8–3.13, Debian's python3-dev) and prints one JSON line each.
# test/unit/python-frames.test.ts runs the same oracle and fails when the table disagrees with it.
set -euo pipefail
cd "$(dirname "$0")/.."
src=test/fixtures/c/pyframes_offsets.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
includes=()
for dir in /root/.pyenv/versions/3.*; do
  for inc in "$dir"/include/python3.*; do [ -f "$inc/Python.h" ] && includes+=("$inc"); done
done
[ -f /usr/include/python3.11/Python.h ] && includes+=(/usr/include/python3.11)
for inc in "${includes[@]}"; do
  # 3.6 and 3.7 are outside the supported range (their headers lack what the oracle reads): skipped.
  case "$(basename "$inc")" in python3.[67]*) continue ;; esac
  gcc -O0 -DPy_BUILD_CORE -I"$inc" -I"$inc/internal" -o "$tmp/oracle" "$src"
  printf '%s %s\n' "$inc" "$("$tmp/oracle")"
done
