#!/usr/bin/env bash
# A throwaway PostgreSQL cluster that pays for durable commits: fsync=on,
# synchronous_commit=on, full_page_writes=on (PostgreSQL's defaults, said
# out loud), unlike the test cluster of `cargo xtask postgres` / crates/testpg,
# which runs with fsync=off. For the benchmarks' PostgreSQL figures:
#   crates/server/benches/pg_fsync_on.sh bench1 bench2 &   # creates these empty databases
# prints `URL postgres://warmlead@127.0.0.1:PORT/` (append a database name),
# then stays up until this script is killed (its PID is printed too); the
# cluster is stopped and its folder removed on exit. As root it runs
# PostgreSQL as the `postgres` OS user (PostgreSQL refuses root).
set -euo pipefail
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/pg-fsync-on.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$BIN/initdb" -D "$DIR/data" -U warmlead --auth=trust -E UTF8 --locale=C >/dev/null
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start -o \
  "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c max_connections=200 -c fsync=on -c synchronous_commit=on -c full_page_writes=on" >/dev/null
trap 'as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; rm -rf "$DIR"' EXIT
for db in "$@"; do as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U warmlead "$db"; done
echo "fsync: $(as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U warmlead -d postgres -Atc 'SHOW fsync'), synchronous_commit: $(as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U warmlead -d postgres -Atc 'SHOW synchronous_commit')"
echo "PID $$"
echo "URL postgres://warmlead@127.0.0.1:$PORT/"
trap 'exit 0' TERM INT
while true; do sleep 3600 & wait $!; done
