#!/usr/bin/env bash
# Tracked pages and beacons under load (issue 3), one command:
#   crates/server/benches/load.sh            # 10 s per run
#   DURATION=30s CONNECTIONS=128 crates/server/benches/load.sh
#   DATABASE_URL=postgres://u@127.0.0.1:5432/empty_db crates/server/benches/load.sh
#   DATABASE_URL=postgres://... PROCESSES=2 crates/server/benches/load.sh
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
# load near the target; BEACON_DELAY_MS=0 saturates the server instead.
export BEACON_DELAY_MS=${BEACON_DELAY_MS:-3}
PROCESSES=${PROCESSES:-1}
# Page views per wrk thread (wrk instances x THREADS x PAGES must stay below
# the burst limit of 30 new views per network and share a minute).
export PAGES=${PAGES:-$((12 / PROCESSES))}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/root/.cache/warmlead-target}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

# SERVER_BIN: a release binary already built (e.g. by the overload test).
if [ -z "${SERVER_BIN:-}" ]; then cargo build --release -q -p warmlead-server; fi
BIN=${SERVER_BIN:-$CARGO_TARGET_DIR/release/warmlead-server}
DIR=$(mktemp -d)
DB=${DATABASE_URL:-sqlite://$DIR/server.db}
PIDS=()
URLS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$DIR"' EXIT
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
export WL_TOKEN=$(curl -fs "$URL/api/v1/sync/pull?after=0&limit=1000" -H "authorization: Bearer $DEVICE_TOKEN" |
  python3 -c 'import json,sys; print(next(c["data"]["token"] for c in json.load(sys.stdin)["changes"] if c["entity"]=="share"))')
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
}
# The servers' own counters (each writes what is queued first): accepted and
# stored summed over the processes, signals in the database.
stats() {
  for u in "${URLS[@]}"; do
    curl -fs "$u/api/v1/stats/tracking" -H "authorization: Bearer $MANAGER_TOKEN" |
      python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["accepted_beacons"], s["stored_beacons"], s["signals"])'
  done | awk '{a += $1; s += $2; g = $3} END {print a, s, g}'
}

[ -z "${ONLY_BEACON:-}" ] && run healthz "$URL/healthz"
HEALTHZ_RATE=$(grep Requests/sec "$DIR/healthz.txt" 2>/dev/null | awk '{print $2}' || true)
[ -z "${ONLY_BEACON:-}" ] && run page -H 'User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.44' "$URL/s/$WL_TOKEN"
read -r A0 S0 G0 < <(stats)
export WL_RUN=$(date +%s); run beacon -s crates/server/benches/beacon.lua "$URL"
read -r A1 S1 G1 < <(stats)
SEEN=$(grep ACCEPTED "$DIR/beacon.txt" | awk '{print $2}')
REFUSED=$(grep REFUSED "$DIR/beacon.txt" | awk '{print $2}')
echo "== check: answered 204 by the server $((A1 - A0)) (wrk saw $SEEN, and $REFUSED refused), written $((S1 - S0)), signals stored $((G1 - G0))"
BEACON_RATE=$(grep Requests/sec "$DIR/beacon.txt" | awk '{print $2}')
[ -n "$HEALTHZ_RATE" ] && python3 -c "import sys; print('== beacons/s vs /healthz: %.1f %%' % (100*float(sys.argv[1])/float(sys.argv[2])))" "$BEACON_RATE" "$HEALTHZ_RATE"
# written >= answered by the server >= seen by wrk: wrk stops counting at its deadline with
# requests in flight, and a beacon whose client hung up may be written yet never answered.
if [ $((S1 - S0)) -ge $((A1 - A0)) ] && [ $((A1 - A0)) -ge "$SEEN" ] && [ $((G1 - G0)) -ge 1 ]; then
  echo "OK: every beacon answered 204 was written"
else
  echo "MISMATCH"; exit 1
fi
