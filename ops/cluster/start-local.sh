#!/bin/sh
# A 3-node NATS JetStream cluster on this machine, from ops/cluster/n1.conf, n2.conf, n3.conf.
#
#   ops/cluster/start-local.sh [start]     start the nodes that are not running, wait for a meta leader,
#                                          print the NATS_URL / PARLEY_NATS_REPLICAS to use
#   ops/cluster/start-local.sh status      which nodes run, who leads the JetStream meta group
#   ops/cluster/start-local.sh stop [nX]   graceful stop (SIGTERM: leaderships move first) of all or one
#   ops/cluster/start-local.sh ldm nX      lame-duck one node (planned restart: clients leave gradually)
#   ops/cluster/start-local.sh kill nX     SIGKILL one node (what a crash looks like: 5-7 s of stalled
#                                          publishes on 2.9 while the Raft groups it led elect again)
#
# Everything can be overridden from the environment; the defaults keep clear of a nats-server
# already on 4222/6222/8222:
#   NATS_HOST=127.0.0.1  NATS_CLUSTER_NAME=parley-local
#   NATS_CLIENT_BASE_PORT=14222  NATS_CLUSTER_BASE_PORT=16222  NATS_HTTP_BASE_PORT=18222  (node i: base+i-1)
#   NATS_MAX_MEMORY_STORE=2GB  NATS_MAX_FILE_STORE=8GB
#   PARLEY_NATS_CLUSTER_DIR=./.parley/nats-cluster   (stores, logs and pid files)
#   NATS_SERVER_BIN=nats-server
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${NATS_SERVER_BIN:-nats-server}
dir=${PARLEY_NATS_CLUSTER_DIR:-$PWD/.parley/nats-cluster}
host=${NATS_HOST:-127.0.0.1}
client_base=${NATS_CLIENT_BASE_PORT:-14222}
cluster_base=${NATS_CLUSTER_BASE_PORT:-16222}
http_base=${NATS_HTTP_BASE_PORT:-18222}

export NATS_HOST="$host"
export NATS_CLUSTER_NAME="${NATS_CLUSTER_NAME:-parley-local}"
export NATS_MAX_MEMORY_STORE="${NATS_MAX_MEMORY_STORE:-2GB}"
export NATS_MAX_FILE_STORE="${NATS_MAX_FILE_STORE:-8GB}"
urls=""
for i in 1 2 3; do
  export "NATS_N${i}_PORT=$((client_base + i - 1))"
  export "NATS_N${i}_CLUSTER_PORT=$((cluster_base + i - 1))"
  export "NATS_N${i}_HTTP_PORT=$((http_base + i - 1))"
  export "NATS_N${i}_STORE_DIR=$dir/n$i"
  export "NATS_ROUTE_${i}=nats-route://$host:$((cluster_base + i - 1))"
  urls="${urls:+$urls,}nats://$host:$((client_base + i - 1))"
done

pid_of() { cat "$dir/$1.pid" 2>/dev/null || true; }
alive() { p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
node_arg() {
  case "${1:-}" in n1|n2|n3) ;; *) echo "expected a node name n1, n2 or n3, got '${1:-}'" >&2; exit 2 ;; esac
}

# The JetStream meta leader's name from a node's monitoring endpoint ("" until one is elected).
meta_leader() {
  http=$((http_base + ${1#n} - 1))
  curl -fsS "http://$host:$http/jsz" 2>/dev/null | tr -d ' \n' | sed -n 's/.*"meta_cluster":{[^}]*"leader":"\([^"]*\)".*/\1/p'
}

start() {
  command -v "$bin" >/dev/null 2>&1 || { echo "$bin not found (apt-get install nats-server, or set NATS_SERVER_BIN)" >&2; exit 1; }
  mkdir -p "$dir"
  for n in n1 n2 n3; do
    if alive "$n"; then echo "$n already running (pid $(pid_of "$n"))"; continue; fi
    mkdir -p "$dir/$n"
    "$bin" -c "$here/$n.conf" >>"$dir/$n.log" 2>&1 &
    echo $! >"$dir/$n.pid"
    echo "$n started (pid $!, log $dir/$n.log)"
  done
  # A JetStream cluster answers "temporarily unavailable" until the meta leader is elected (~5 s).
  tries=0
  leader=""
  while [ -z "$leader" ]; do
    for n in n1 n2 n3; do
      alive "$n" || { echo "$n exited; last lines of $dir/$n.log:" >&2; tail -n 20 "$dir/$n.log" >&2; exit 1; }
    done
    if command -v curl >/dev/null 2>&1; then
      leader=$(meta_leader n1)
    elif grep -qs 'JetStream cluster new metadata leader\|is new JetStream cluster metadata leader' "$dir"/n?.log; then
      leader="(elected)"
    fi
    tries=$((tries + 1))
    [ "$tries" -gt 300 ] && { echo "no JetStream meta leader after 30 s; see $dir/n*.log" >&2; exit 1; }
    [ -z "$leader" ] && sleep 0.1
  done
  cat <<EOF

NATS JetStream cluster '$NATS_CLUSTER_NAME' is up (meta leader: $leader). Point Parley at all three nodes:

  export NATS_URL=$urls
  export PARLEY_NATS_REPLICAS=3

then 'npm start', or one role per terminal: node --import tsx ops/cli.ts gateway | stage vad | stage stt | ...
Monitoring: http://$host:$http_base/jsz?streams=1 (n1), :$((http_base + 1)) (n2), :$((http_base + 2)) (n3)
Stop: $0 stop    Logs and stores: $dir
EOF
}

stop_node() {
  n=$1
  if ! alive "$n"; then echo "$n not running"; rm -f "$dir/$n.pid"; return 0; fi
  p=$(pid_of "$n")
  kill -TERM "$p"
  t=0
  while kill -0 "$p" 2>/dev/null; do
    t=$((t + 1))
    if [ "$t" -gt 150 ]; then echo "$n did not stop in 15 s, SIGKILL" >&2; kill -KILL "$p" 2>/dev/null || true; break; fi
    sleep 0.1
  done
  rm -f "$dir/$n.pid"
  echo "$n stopped"
}

case "${1:-start}" in
  start) start ;;
  stop)
    if [ -n "${2:-}" ]; then node_arg "$2"; stop_node "$2"; else for n in n1 n2 n3; do stop_node "$n"; done; fi
    ;;
  kill)
    node_arg "${2:-}"
    alive "$2" && kill -KILL "$(pid_of "$2")" && rm -f "$dir/$2.pid" && echo "$2 killed (SIGKILL)" || echo "$2 not running"
    ;;
  ldm)
    node_arg "${2:-}"
    alive "$2" || { echo "$2 not running"; exit 1; }
    "$bin" --signal "ldm=$(pid_of "$2")"
    echo "$2 entering lame-duck mode: clients are moved off over lame_duck_duration, then it exits; '$0 start' brings it back"
    ;;
  status)
    for n in n1 n2 n3; do
      if alive "$n"; then echo "$n running (pid $(pid_of "$n"))"; else echo "$n stopped"; fi
    done
    for n in n1 n2 n3; do
      if alive "$n" && command -v curl >/dev/null 2>&1; then echo "meta leader: $(meta_leader "$n")"; break; fi
    done
    echo "NATS_URL=$urls PARLEY_NATS_REPLICAS=3"
    ;;
  *) echo "usage: $0 [start | status | stop [nX] | ldm nX | kill nX]" >&2; exit 2 ;;
esac
