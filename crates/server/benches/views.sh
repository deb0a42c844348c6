#!/usr/bin/env bash
# Durable views/s at saturation, every beacon a NEW page view, the baseline
# binary and this build in one run with their ratio (issue 9's 20k target;
# tests/views_bench.rs says what is measured):
#   BASELINE_BIN=/path/to/old/warmlead-server crates/server/benches/views.sh
#   BASELINE_REV=6e9fbef crates/server/benches/views.sh      # builds that revision first
#   SECS=30 CONNECTIONS=256 crates/server/benches/views.sh
#   SERVER_CPU=1 LOAD_CPU=0 crates/server/benches/views.sh   # pin the server and wrk to a core each
#   PV=random crates/server/benches/views.sh                 # page-view ids as pages made them before (random)
#   WARMLEAD_BENCH_KEEP=/tmp/keep crates/server/benches/views.sh  # keep each run's database, WAL and log
#     (SQLite; e.g. to count which index the WAL's pages belong to, see docs/benchmarks.md)
#   DATABASE_URL=postgres://u@127.0.0.1:PORT/new BASELINE_DATABASE_URL=postgres://u@127.0.0.1:PORT/old \
#     BASELINE_BIN=... crates/server/benches/views.sh        # PostgreSQL: two EMPTY databases
#   BACKENDS="sqlite postgres" BASELINE_BIN=... crates/server/benches/views.sh
#     # both backends in one command: SQLite, then PostgreSQL on a throwaway cluster with fsync
#     # and synchronous_commit on (pg_fsync_on.sh, two fresh databases), each before/after
# For PostgreSQL with fsync on, see pg_fsync_on.sh. Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
if [ -z "${BASELINE_BIN:-}" ] && [ -n "${BASELINE_REV:-}" ]; then
  SRC=$(mktemp -d)
  git archive "$BASELINE_REV" | tar -x -C "$SRC"
  BASE_TARGET=${BASELINE_TARGET_DIR:-$HOME/.cache/warmlead-baseline-target}
  (cd "$SRC" && CARGO_TARGET_DIR=$BASE_TARGET cargo build --release -q -p warmlead-server)
  BASELINE_BIN=$BASE_TARGET/release/warmlead-server
fi
[ -n "${BASELINE_BIN:-}" ] && export WARMLEAD_BENCH_BASELINE_BIN=$BASELINE_BIN
[ -n "${DATABASE_URL:-}" ] && export WARMLEAD_BENCH_DATABASE_URL=$DATABASE_URL
[ -n "${BASELINE_DATABASE_URL:-}" ] && export WARMLEAD_BENCH_BASELINE_DATABASE_URL=$BASELINE_DATABASE_URL
export WARMLEAD_BENCH_SECS=${SECS:-30}
export WARMLEAD_BENCH_CONNECTIONS=${CONNECTIONS:-256}
export WARMLEAD_BENCH_SERVER_CPU=${SERVER_CPU:-}
export WARMLEAD_BENCH_LOAD_CPU=${LOAD_CPU:-}
# SERVER_BIN: a release binary already built; else this tree's is built.
if [ -z "${SERVER_BIN:-}" ]; then
  cargo build --release -q -p warmlead-server
  SERVER_BIN=${CARGO_TARGET_DIR:-target}/release/warmlead-server
fi
export WARMLEAD_BENCH_BIN=$SERVER_BIN
# The driver only starts servers and wrk: a debug build is enough.
bench() {
  echo "load: $(uptime)"
  cargo test -q -p warmlead-server --test views_bench -- --ignored --nocapture
  echo "load: $(uptime)"
}
if [ -z "${BACKENDS:-}" ]; then
  bench
  exit 0
fi
for backend in $BACKENDS; do
  echo "== $backend"
  case $backend in
    sqlite)
      (unset WARMLEAD_BENCH_DATABASE_URL WARMLEAD_BENCH_BASELINE_DATABASE_URL; bench) ;;
    postgres)
      OUT=$(mktemp)
      crates/server/benches/pg_fsync_on.sh bench_old bench_new >"$OUT" 2>&1 &
      PG=$!
      for _ in $(seq 1 300); do grep -q '^URL ' "$OUT" && break; sleep 0.2; done
      cat "$OUT"
      URL=$(sed -n 's/^URL //p' "$OUT")
      [ -n "$URL" ] || { kill "$PG"; echo "pg_fsync_on.sh did not start" >&2; exit 1; }
      status=0
      WARMLEAD_BENCH_DATABASE_URL=${URL}bench_new WARMLEAD_BENCH_BASELINE_DATABASE_URL=${URL}bench_old \
        bench || status=$?
      kill "$PG"; wait "$PG" || true; rm -f "$OUT"
      [ "$status" = 0 ] || exit "$status" ;;
    *) echo "BACKENDS: sqlite and/or postgres, not $backend" >&2; exit 1 ;;
  esac
done
