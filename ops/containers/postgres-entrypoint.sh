#!/bin/sh
# Entry point of Parley's locally built PostgreSQL test image (ops/containers/build-images.sh).
# It keeps the contract of the upstream `postgres` image, so the same test code (and
# @testcontainers/postgresql) drives either: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB and
# PGDATA from the environment, `postgres -c key=value ...` as the command. `docker import` cannot set
# STOPSIGNAL, so this shell stays PID 1 and turns docker stop's SIGTERM into PostgreSQL's fast
# shutdown (SIGINT), as the upstream image's STOPSIGNAL does; a plain SIGTERM would wait for clients.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ "${1:-}" = postgres ]; then shift; fi

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  auth=trust
  pwfile=/dev/null
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    auth=scram-sha-256
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
  fi
  as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$auth" --no-sync >/dev/null
  [ "$pwfile" = /dev/null ] || rm -f "$pwfile"
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\"" | as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "parley test image: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi

# Not through as_postgres: a backgrounded function is a subshell, and $! must be postgres itself.
setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" -c listen_addresses='*' "$@" &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null' TERM INT
status=0
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done
exit "$status"
