#!/bin/sh
# Installs what Parley needs, idempotently, before `npm start` (mode: run) or `npm test` (mode: test):
# Debian packages (nats-server, espeak-ng, pocketsphinx; for tests also PostgreSQL when none is
# reachable, and a running Docker engine for the containers suite) and the npm dependencies. Fast
# when everything is already there.
set -eu
MODE="${1:-run}"
cd "$(dirname "$0")/.."

say() { printf 'parley bootstrap: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found $(node -v 2>/dev/null || echo none))."
  exit 1
fi

missing=""
need() { dpkg -s "$1" >/dev/null 2>&1 || missing="$missing $1"; }
if command -v dpkg >/dev/null 2>&1; then
  command -v nats-server >/dev/null 2>&1 || need nats-server
  need espeak-ng
  need pocketsphinx
  need pocketsphinx-en-us
  if [ "$MODE" = "test" ]; then
    # The integration suite uses a reachable PostgreSQL, or starts one from Debian's binaries.
    pg_up=$(node -e "require('net').connect(5432,'127.0.0.1').on('connect',()=>{console.log(1);process.exit(0)}).on('error',()=>{console.log(0);process.exit(0)})")
    if [ "$pg_up" != "1" ] && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      need postgresql
    fi
  fi
fi

if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    say "missing Debian packages:$missing — install them as root: apt-get install -y$missing"
    exit 1
  fi
  say "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
  }
fi

# The containers suite (test/containers/) needs a Docker engine: install docker.io when missing (as
# root) and start dockerd when it is not running; a few tens of ms when it answers. Not fatal: without
# Docker the suite runs on spawned binaries and says so loudly.
if [ "$MODE" = "test" ] && [ -z "${PARLEY_SKIP_CONTAINERS:-}" ] && [ -z "${PARLEY_SKIP_INTEGRATION:-}" ] && [ -z "${PARLEY_FORCE_NO_DOCKER:-}" ]; then
  sh ops/containers/ensure-docker.sh || say "no Docker engine: the containers suite will fall back to spawned binaries"
fi

# npm dependencies: install when absent or when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2
fi
