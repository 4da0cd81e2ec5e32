#!/bin/sh
# Makes a Docker engine answer for the containers integration suite (test/containers/):
# nothing to do when `docker info` works (a few tens of ms); otherwise, as root, installs Debian's
# docker.io when no engine is installed and starts dockerd in the background (its log in
# /var/log/parley-dockerd.log), then waits for it. Exit 0 when the engine answers, 1 when it cannot
# be had (not root, no package, dockerd fails): the suite then falls back to spawned binaries and
# says so loudly. Idempotent; safe to run from several processes at once.
set -eu
say() { printf 'parley docker: %s\n' "$*" >&2; }
answers() { docker info >/dev/null 2>&1; }
root() { [ "$(id -u)" -eq 0 ]; }

command -v docker >/dev/null 2>&1 && answers && exit 0

if ! command -v dockerd >/dev/null 2>&1; then
  if ! root || ! command -v apt-get >/dev/null 2>&1; then
    say "no Docker engine installed and cannot install one here (needs root and apt-get: apt-get install docker.io)"
    exit 1
  fi
  say "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends docker.io >/dev/null 2>&1 || {
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q --no-install-recommends docker.io >/dev/null 2>&1 || { say "apt-get install docker.io failed"; exit 1; }
  }
fi

running() {
  [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null
}
if ! running; then
  if ! root; then
    say "the Docker engine is installed but not running, and only root can start it (dockerd)"
    exit 1
  fi
  say "starting dockerd (log: /var/log/parley-dockerd.log)"
  # setsid + nohup: the engine outlives this test run, like a service would.
  setsid nohup dockerd >>/var/log/parley-dockerd.log 2>&1 </dev/null &
fi

i=0
while ! answers; do
  i=$((i + 1))
  if [ $i -gt 150 ]; then
    say "dockerd did not answer within 30 s; last log lines:"
    tail -5 /var/log/parley-dockerd.log >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.2
done
