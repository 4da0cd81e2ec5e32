#!/bin/sh
# Picks (and when needed builds) the NATS and PostgreSQL images of the containers integration suite
# (test/containers/), idempotently, and prints them on stdout for the suite:
#   PARLEY_TEST_NATS_IMAGE=<ref>
#   PARLEY_TEST_POSTGRES_IMAGE=<ref>
# PARLEY_TEST_IMAGES=auto (default) | upstream | local:
#   upstream  the Docker Hub images (nats:2.10, postgres:15; override with PARLEY_UPSTREAM_NATS_IMAGE,
#             PARLEY_UPSTREAM_POSTGRES_IMAGE), pulled when missing;
#   local     images built here without any registry: a Debian bookworm root filesystem made with
#             `debootstrap --variant=minbase --include=postgresql-15,nats-server` and `docker import`ed
#             as parley-test/postgres:<hash> (entry point: postgres-entrypoint.sh, the upstream
#             image's contract), and a FROM-scratch parley-test/nats:<hash> holding only that root
#             filesystem's nats-server and the libc it links against;
#   auto      upstream images already on the machine, else local images already built, else a pull
#             of the upstream images, else a local build (Docker Hub is unreachable on some machines).
# <hash> is a content hash of this script and the entry point: an image is built once per change of
# its recipe and reused afterwards (`docker image inspect`). Builds hold a lock, so concurrent runs
# build once. A cold local build takes about a minute (debootstrap downloads ~60 MB of packages).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
say() { printf 'parley test images: %s\n' "$*" >&2; }

MODE="${PARLEY_TEST_IMAGES:-auto}"
UPSTREAM_NATS="${PARLEY_UPSTREAM_NATS_IMAGE:-nats:2.10}"
UPSTREAM_PG="${PARLEY_UPSTREAM_POSTGRES_IMAGE:-postgres:15}"
SUITE=bookworm
MIRROR="${PARLEY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HASH=$(cat "$here/build-images.sh" "$here/postgres-entrypoint.sh" | sha256sum | cut -c1-12)
LOCAL_NATS="parley-test/nats:$HASH"
LOCAL_PG="parley-test/postgres:$HASH"

have() { docker image inspect "$1" >/dev/null 2>&1; }
emit() { printf 'PARLEY_TEST_NATS_IMAGE=%s\nPARLEY_TEST_POSTGRES_IMAGE=%s\n' "$1" "$2"; }
pull() { have "$1" || docker pull -q "$1" >/dev/null 2>&1; }

# Makes $LOCAL_NATS from a root filesystem: nats-server plus exactly the libraries ldd lists.
build_nats() {
  rootfs=$1
  dir=$(mktemp -d /var/tmp/parley-nats-image.XXXXXX)
  mkdir -p "$dir/data" "$dir/tmp"
  cp "$rootfs/usr/sbin/nats-server" "$dir/nats-server"
  chroot "$rootfs" ldd /usr/sbin/nats-server | grep -o '/[^ ]*' | while read -r lib; do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$rootfs$lib" "$dir$lib"
  done
  tar -C "$dir" -c . | docker import \
    --change 'ENTRYPOINT ["/nats-server"]' \
    --change 'EXPOSE 4222 6222 8222' \
    --change "LABEL org.parley.test-image=nats org.parley.recipe=$HASH" \
    - "$LOCAL_NATS" >/dev/null
  rm -rf "$dir"
  say "built $LOCAL_NATS ($("$rootfs/usr/sbin/nats-server" --version 2>/dev/null || echo nats-server))"
}

# Makes $LOCAL_PG from a fresh debootstrap; leaves the root filesystem in $1 for build_nats.
build_postgres() {
  rootfs=$1
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 || {
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
    }
  fi
  say "debootstrap $SUITE (postgresql-15, nats-server) from $MIRROR: about a minute"
  debootstrap --variant=minbase --include=postgresql-15,nats-server "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || {
    tail -20 "$rootfs.log" >&2
    return 1
  }
  rm -f "$rootfs.log"
  # The package made a cluster of its own; the entry point makes one per container instead.
  rm -rf "$rootfs/var/lib/postgresql/15/main" "$rootfs/etc/postgresql/15/main"
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  install -m 0755 "$here/postgres-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    --change 'EXPOSE 5432' \
    --change "LABEL org.parley.test-image=postgres org.parley.recipe=$HASH" \
    - "$LOCAL_PG" >/dev/null
  say "built $LOCAL_PG"
}

build_local() {
  have "$LOCAL_NATS" && have "$LOCAL_PG" && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "building the local images needs root (debootstrap, chroot); run the suite once as root or set PARLEY_TEST_IMAGES=upstream"
    return 1
  fi
  command -v flock >/dev/null 2>&1 && { exec 9>/var/tmp/parley-test-images.lock; flock 9; }
  have "$LOCAL_NATS" && have "$LOCAL_PG" && return 0 # built while we waited for the lock
  rootfs=$(mktemp -d /var/tmp/parley-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  started=$(date +%s)
  if have "$LOCAL_PG"; then
    # Only the NATS image is missing: take nats-server from the PostgreSQL image's root filesystem.
    cid=$(docker create "$LOCAL_PG")
    docker export "$cid" | tar -C "$rootfs" -x
    docker rm "$cid" >/dev/null
  else
    build_postgres "$rootfs"
  fi
  have "$LOCAL_NATS" || build_nats "$rootfs"
  say "local images ready in $(($(date +%s) - started)) s"
  # Images of earlier recipes are dead weight (~450 MB each); one still in use stays.
  docker images --filter label=org.parley.recipe --format '{{.Repository}}:{{.Tag}}' | grep -v ":$HASH\$" |
    while read -r old; do docker rmi "$old" >/dev/null 2>&1 && say "removed $old" || true; done
}

case "$MODE" in
  upstream)
    pull "$UPSTREAM_NATS" && pull "$UPSTREAM_PG" || { say "cannot pull $UPSTREAM_NATS / $UPSTREAM_PG"; exit 1; }
    emit "$UPSTREAM_NATS" "$UPSTREAM_PG" ;;
  local)
    build_local
    emit "$LOCAL_NATS" "$LOCAL_PG" ;;
  auto)
    if have "$UPSTREAM_NATS" && have "$UPSTREAM_PG"; then
      emit "$UPSTREAM_NATS" "$UPSTREAM_PG"
    elif have "$LOCAL_NATS" && have "$LOCAL_PG"; then
      emit "$LOCAL_NATS" "$LOCAL_PG"
    elif pull "$UPSTREAM_NATS" && pull "$UPSTREAM_PG"; then
      say "using the upstream images $UPSTREAM_NATS and $UPSTREAM_PG"
      emit "$UPSTREAM_NATS" "$UPSTREAM_PG"
    else
      say "Docker Hub images unavailable: building them locally"
      build_local
      emit "$LOCAL_NATS" "$LOCAL_PG"
    fi ;;
  *)
    say "PARLEY_TEST_IMAGES must be auto, upstream or local (got '$MODE')"
    exit 2 ;;
esac
