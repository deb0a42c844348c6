#!/usr/bin/env bash
# Tracked pages and beacons under load (issue 3), one command:
#   crates/server/benches/load.sh            # 10 s per run
#   DURATION=30s CONNECTIONS=128 crates/server/benches/load.sh
#   DATABASE_URL=postgres://u@127.0.0.1:5432/empty_db crates/server/benches/load.sh
#   DATABASE_URL=postgres://... PROCESSES=2 crates/server/benches/load.sh
#   BASELINE_BIN=/path/to/old/warmlead-server crates/server/benches/load.sh
# BASELINE_BIN: the same runs first with that (older) release binary on its
# own fresh database (BASELINE_DATABASE_URL, another empty database, when
# DATABASE_URL is PostgreSQL): before/after in one command, summed up at the end.
# BEACON_DELAYS: the beacon runs, ms between a connection's requests; the
# default "3 0" is a paced run and an unpaced one (each on its own share, so
# the second's new views are not counted as a burst of the first's).
# DATABASE_URL names an EMPTY PostgreSQL database (the demo is seeded into
# it); without it, a fresh SQLite file. PROCESSES=2 runs two server processes
# on that database, each on its own port, and one wrk per port (half the
# connections each): the rates are summed, the p99 is the worse of the two.
# Needs wrk (Debian: apt-get install -y wrk) and curl, python3.
# Release server on a fresh SQLite file with the demo company; /healthz is
# measured in the same run as the ceiling. Ends by checking, with the server's
# own counters, that every beacon answered 204 was written, and how many
# signals that made. (Acknowledged means stored: a 204 is sent only after the
# beacon's batch committed; see tests/kill9.rs for the crash proof and
# tests/overload.rs for the views lost at twice the write capacity.)
set -euo pipefail
cd "$(dirname "$0")/../../.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
# Beacons are paced (ms between requests per connection) to a steady offered
# load near the target; 0 saturates the server instead.
BEACON_DELAYS=${BEACON_DELAYS:-${BEACON_DELAY_MS:-3 0}}
PROCESSES=${PROCESSES:-1}
# Page views per wrk thread (wrk instances x THREADS x PAGES must stay below
# the burst limit of 30 new views per network and share a minute).
export PAGES=${PAGES:-$((12 / PROCESSES))}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/root/.cache/warmlead-target}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

# SERVER_BIN: a release binary already built (e.g. by the overload test).
if [ -z "${SERVER_BIN:-}" ]; then cargo build --release -q -p warmlead-server; fi
NEW_BIN=${SERVER_BIN:-$CARGO_TARGET_DIR/release/warmlead-server}
TOP=$(mktemp -d)
SUMMARY=$TOP/summary.txt
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$TOP"' EXIT

# One whole bench (servers, /healthz, page, beacons, the check) of binary $1
# labelled $2 on database $3 (empty; "" for a fresh SQLite file).
bench() {
BIN=$1 LABEL=$2
DIR=$TOP/$LABEL
mkdir -p "$DIR"
DB=${3:-sqlite://$DIR/server.db}
PIDS=()
URLS=()
# The first process seeds the demo; the others start once it answers.
for i in $(seq 1 "$PROCESSES"); do
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  U="http://127.0.0.1:$PORT"
  DEMO=$([ "$i" = 1 ] && echo --demo || true)
  RUST_LOG=${RUST_LOG:-warn} "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$DB" $DEMO &
  PIDS+=($!)
  URLS+=("$U")
  for _ in $(seq 1 300); do curl -fs "$U/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
done
URL=${URLS[0]}

# A real share of the demo partner: activate, pull, take one share token.
activate() { # role -> device token
  local code device
  code=$("$BIN" demo-code --database-url "$DB" --role "$1")
  device=$(curl -fs -X POST "$URL/api/v1/activate" -H 'content-type: application/json' \
    -d "{\"code\":\"$code\",\"device_name\":\"bench\"}")
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["device_token"])' "$device"
}
DEVICE_TOKEN=$(activate partner)
MANAGER_TOKEN=$(activate manager)
# The partner's share tokens, one per beacon run.
SHARE_TOKENS=($(curl -fs "$URL/api/v1/sync/pull?after=0&limit=1000" -H "authorization: Bearer $DEVICE_TOKEN" |
  python3 -c 'import json,sys; print(" ".join(c["data"]["token"] for c in json.load(sys.stdin)["changes"] if c["entity"]=="share"))'))
export WL_TOKEN=${SHARE_TOKENS[0]}
curl -fs "$URL/s/$WL_TOKEN" >/dev/null

run() { # name, wrk args (the URL last: one wrk per process, on its port)...
  local name=$1; shift
  local args=("${@:1:$#-1}") target=${!#} path i=0 wrks=()
  path=${target#"$URL"}
  echo "== $name ($PROCESSES process(es))"
  for u in "${URLS[@]}"; do
    i=$((i + 1))
    WL_RUN="${WL_RUN:-0}-$i" wrk -t"$THREADS" -c"$((CONNECTIONS / PROCESSES))" -d"$DURATION" --latency \
      "${args[@]}" "$u$path" > "$DIR/$name.$i.txt" &
    wrks+=($!)
  done
  wait "${wrks[@]}"
  for f in "$DIR/$name".*.txt; do
    grep -E 'Requests/sec|Non-2xx|Socket errors|^ +(50|99)%' "$f"
  done
  # Summed over the wrk instances: requests/s, ACCEPTED, REFUSED.
  cat "$DIR/$name".*.txt | awk '/Requests\/sec/ {r += $2} /^ACCEPTED/ {a += $2} /^REFUSED/ {f += $2}
    END {printf "Requests/sec: %.2f\nACCEPTED %d\nREFUSED %d\n", r, a, f}' > "$DIR/$name.txt"
  grep -E 'Requests/sec' "$DIR/$name.txt" | sed 's/^/total /'
  # p50 / p99 per wrk instance (per process).
  local lat
  lat=$(for f in "$DIR/$name".*.txt; do
    awk '$1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} END {printf "%s / %s  ", p50, p99}' "$f"
  done)
  printf '%-8s %-16s %12s   %s\n' "$LABEL" "$name" "$(awk '/Requests/ {print $2}' "$DIR/$name.txt")" "$lat" >> "$SUMMARY"
}
# The servers' own counters (each writes what is queued first): accepted and
# stored summed over the processes, signals in the database.
stats() {
  for u in "${URLS[@]}"; do
    curl -fs "$u/api/v1/stats/tracking" -H "authorization: Bearer $MANAGER_TOKEN" |
      python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["accepted_beacons"], s["stored_beacons"], s["signals"])'
  done | awk '{a += $1; s += $2; g = $3} END {print a, s, g}'
}

if [ -z "${ONLY_BEACON:-}" ]; then run healthz "$URL/healthz"; fi
HEALTHZ_RATE=$(grep Requests/sec "$DIR/healthz.txt" 2>/dev/null | awk '{print $2}' || true)
if [ -z "${ONLY_BEACON:-}" ]; then run page -H 'User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.44' "$URL/s/$WL_TOKEN"; fi
i=0
for delay in $BEACON_DELAYS; do
  export BEACON_DELAY_MS=$delay WL_TOKEN=${SHARE_TOKENS[$i]:?"not enough shares for another beacon run"}
  i=$((i + 1))
  curl -fs "$URL/s/$WL_TOKEN" >/dev/null
  beacons "beacon-${delay}ms"
done
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
PIDS=()
}

# One beacon run named $1, and the check that every 204 was written.
beacons() {
read -r A0 S0 G0 < <(stats)
export WL_RUN=$(date +%s%N); run "$1" -s crates/server/benches/beacon.lua "$URL"
read -r A1 S1 G1 < <(stats)
SEEN=$(grep ACCEPTED "$DIR/$1.txt" | awk '{print $2}')
REFUSED=$(grep REFUSED "$DIR/$1.txt" | awk '{print $2}')
echo "== check: answered 204 by the server $((A1 - A0)) (wrk saw $SEEN, and $REFUSED refused), written $((S1 - S0)), signals stored $((G1 - G0))"
BEACON_RATE=$(grep Requests/sec "$DIR/$1.txt" | awk '{print $2}')
[ -n "$HEALTHZ_RATE" ] && python3 -c "import sys; print('== beacons/s vs /healthz: %.1f %%' % (100*float(sys.argv[1])/float(sys.argv[2])))" "$BEACON_RATE" "$HEALTHZ_RATE"
# written >= answered by the server >= seen by wrk: wrk stops counting at its deadline with
# requests in flight, and a beacon whose client hung up may be written yet never answered.
if [ $((S1 - S0)) -ge $((A1 - A0)) ] && [ $((A1 - A0)) -ge "$SEEN" ] && [ $((G1 - G0)) -ge 1 ]; then
  echo "OK: every beacon answered 204 was written"
  echo "$LABEL $1: written $((S1 - S0)) >= answered $((A1 - A0)) >= seen $SEEN, refused $REFUSED" >> "$TOP/checks.txt"
else
  echo "MISMATCH"; exit 1
fi
}

echo "load: $(uptime)"
if [ -n "${BASELINE_BIN:-}" ]; then
  if [ -n "${DATABASE_URL:-}" ] && [ -z "${BASELINE_DATABASE_URL:-}" ]; then
    echo "BASELINE_BIN on PostgreSQL needs BASELINE_DATABASE_URL (another empty database)" >&2; exit 1
  fi
  bench "$BASELINE_BIN" before "${BASELINE_DATABASE_URL:-}"
fi
bench "$NEW_BIN" after "${DATABASE_URL:-}"
echo "load: $(uptime)"
echo "== summary ($PROCESSES process(es), $CONNECTIONS connections, $DURATION; p50 / p99 per process)"
printf '%-8s %-16s %12s   %s\n' binary run 'requests/s' 'p50 / p99'
cat "$SUMMARY"
cat "$TOP/checks.txt"
