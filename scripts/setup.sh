#!/usr/bin/env bash
# Installs what building, the demo and the tests need on a Debian 12 machine: Debian packages (with
# apt-get, when missing) and the npm dependencies (npm ci, when package-lock.json changed).
# Usage: scripts/setup.sh [demo|test]   (demo installs the smaller set)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-test}"

demo_pkgs=(gcc make python3 python3-numpy)
test_pkgs=(gcc g++ make binutils python3 python3-dev python3-numpy python3-sklearn python3-xgboost
  python3-debugpy python3-cryptography python3-greenlet cython3 chromium python3-matplotlib python3-bs4 python3-falcon python3-fastapi python3-uvicorn python3-dask python3-cffi python3-setuptools python3-numba pybind11-dev
  criu rsync time)  # criu, rsync: the CRIU restore test; time (GNU): npm run bench reads CPU and peak RSS

pkgs=("${demo_pkgs[@]}")
[ "$what" = test ] && pkgs=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      echo "setup: cannot install ${missing[*]}: not root and no password-less sudo." >&2
      echo "setup: install them yourself: sudo apt-get install ${missing[*]}" >&2
      exit 3
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "setup: apt-get could not install ${missing[*]} (no network or no such package?)." >&2
    exit 3
  fi
fi

# npm dependencies: reinstall only when the lock file is newer than the install marker.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
