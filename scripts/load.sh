#!/usr/bin/env bash
# Start and tile load test on a generated city, in one run:
#
#  1. start: seconds from launch to `/health` answering and resident memory,
#     building the snapshot from the store, then reading the saved snapshot
#     (resident again 3 s after every derived index is built; the server
#     runs with MIMALLOC_PURGE_DELAY=0, as `make run` starts it);
#  2. uncached tiles: every URL distinct (talent tiles over the city at
#     zooms 9-14 with a different age filter each), 1 and 64 connections;
#  3. warm tiles: a mixed URL set (3 layers x zooms 9-14 x with/without a
#     filter), cache filled, 64 connections, `Accept-Encoding: gzip` as a
#     browser sends it; then nginx serving exactly the same gzip bytes (the
#     static ceiling) with the same wrk settings.
#
# BASELINE=/path/to/other/talentmap measures that binary's warm and
# uncached numbers in the same run for comparison. Loopback only, bounded in
# time. Needs wrk and nginx (apt-get install wrk nginx-light), a release
# build.
#
#   scripts/load.sh [TALENTS] [DURATION_SECONDS]
#
# The per-client rate limit is off for the run (every connection comes from
# 127.0.0.1); RATE=N sets it. scripts/soak.sh has the soak, abuse and
# responsiveness tests.
set -euo pipefail
cd "$(dirname "$0")/.."
TALENTS=${1:-1000000}
DURATION=${2:-15}
WORK=${WORK:-/tmp/talentmap-load}
PORT=18080
STATIC_PORT=18081
BIN=target/release/talentmap
mkdir -p "$WORK"
. scripts/bench-common.sh
cargo build --release --quiet

# city BINARY NAME: the generated city in $WORK/NAME-files, imported into
# $WORK/NAME by that binary.
city() {
  rm -rf "$WORK/$2" "$WORK/$2-files"
  "$1" generate --out "$WORK/$2-files" --talents "$TALENTS" --enterprises $((TALENTS / 20)) >/dev/null
  for k in regions enterprises stations vacancies talents moves; do
    f=$(ls "$WORK/$2-files/$k".* | head -1)
    "$1" import "$k" "$f" --data "$WORK/$2" >/dev/null
  done
}

if [ ! -f "$WORK/data/talentmap.sqlite" ] || [ "$(cat "$WORK/talents" 2>/dev/null)" != "$TALENTS" ]; then
  city "$BIN" data
  echo "$TALENTS" > "$WORK/talents"
fi
# The baseline reads a store of its own, generated and imported by itself:
# an older build neither reads a newer schema nor the newer files' columns.
# BASELINE_SAME_STORE=1 lets a build of the same schema read this run's
# store instead (each build then rebuilds the saved snapshot the other
# wrote, which only slows the starts of the throughput runs).
if [ -n "${BASELINE:-}" ] && [ -z "${BASELINE_SAME_STORE:-}" ]; then
  city "$BASELINE" base-data
fi

SERVER=
NGINX=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; [ -n "$NGINX" ] && kill $NGINX 2>/dev/null; true' EXIT

# start BINARY [extra serve args]: launches the server, waits for /health,
# prints seconds to ready and resident MiB.
start() {
  local bin=$1; shift
  local t1
  t0=$(date +%s.%N)
  # As `make run` starts it: freed memory goes back to the system at once.
  MIMALLOC_PURGE_DELAY=0 "$bin" serve --addr 127.0.0.1:$PORT --data "${DATA:-$WORK/data}" --web /nonexistent \
    --rate-limit "${RATE:-0}" "$@" \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
  until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
    kill -0 $SERVER 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.02
  done
  t1=$(date +%s.%N)
  printf '%s: ready after %.2f s, %d MiB resident\n' "$(basename "$bin")${*:+ $*}" "$(echo "$t1 - $t0" | bc)" \
    "$(( $(awk '/VmRSS/{print $2}' /proc/$SERVER/status) / 1024 ))"
}
stop() {
  kill $SERVER 2>/dev/null || true
  wait $SERVER 2>/dev/null || true
  SERVER=
}
# Waits (at most 60 s) until the server has built its derived indexes, which
# it does on a background thread after start, so they do not share the
# cores with the measurement.
settle() {
  for _ in $(seq 1 600); do grep -q "derived indexes built" "$WORK/server.log" && return; sleep 0.1; done
}
summary() { grep -E "Requests/sec|^ +50%|^ +99%" | tr -s ' ' | paste -sd' ' -; }

echo "### start"
rm -f "$WORK/data/snapshot.bin" "$WORK/data/derived.bin"
start "$BIN"
# The saved snapshot and then the saved derived indexes are written in the
# background after the first publish.
for _ in $(seq 1 1200); do [ -f "$WORK/data/derived.bin" ] && break; sleep 0.1; done
sleep 1
grep -E "snapshot ready|derived indexes|snapshot saved" "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c29-
stop
for _ in 1 2 3; do
  start "$BIN"
  settle
  printf 'every derived index built %.2f s after launch, ' "$(echo "$(date +%s.%N) - $t0" | bc)"
  sleep 3
  kb=$(awk '/VmRSS/{print $2}' /proc/$SERVER/status)
  printf '%d MiB (%d MB) resident 3 s later\n' "$(( kb / 1024 ))" "$(( kb * 1024 / 1000000 ))"
  grep -E "snapshot ready|derived indexes" "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c29-
  stop
done

python3 - "$WORK" <<'PY'
import math, sys
work = sys.argv[1]
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    r = math.radians(lat)
    y = int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
    return x, y
def tiles(z, every):
    x0, y0 = tile(116.85, 36.75, z)
    x1, y1 = tile(117.25, 36.55, z)
    out = []
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            out.append((x, y))
    step = max(1, len(out) // every)
    return out[::step]
# Warm: every layer, with and without a filter.
urls = []
for z in range(9, 15):
    for x, y in tiles(z, 40):
        for layer in ("talents", "vacancies", "enterprises"):
            urls.append(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
            if layer != "enterprises":
                urls.append(f"/tiles/{layer}/{z}/{x}/{y}.mvt?field=0812")
open(f"{work}/urls.txt", "w").write("\n".join(urls) + "\n")
# Uncached: talent tiles, each URL distinct (a filter per request: an age
# band in the five-year bands the server accepts, a seeking or education
# filter, one field of every eighth or none).
fields = [line.split(",")[0] for line in open("fixtures/taxonomy/fields.csv").read().splitlines()[1:]]
distinct = []
for age in range(15, 65, 5):
    for top in range(age + 4, 70, 5):
        for extra in ("", "&seeking=true", "&seeking=false", "&education=bachelor", "&education=master"):
            for field in [""] + [f"&field={f}" for f in fields[::8]]:
                for z in range(9, 15):
                    for x, y in tiles(z, 6):
                        distinct.append(f"/tiles/talents/{z}/{x}/{y}.mvt?min_age={age}&max_age={top}{extra}{field}")
import random
random.Random(7).shuffle(distinct)
open(f"{work}/distinct.txt", "w").write("\n".join(distinct) + "\n")
print(len(urls), "warm URLs,", len(distinct), "distinct uncached URLs")
PY

for list in urls distinct; do url_lua "$list"; done

run() { # run LABEL LIST CONNECTIONS SECONDS [PORT]
  printf "%-58s %s\n" "$1" "$(wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"$4"s -s "$WORK/$2.lua" --latency "http://127.0.0.1:${5:-$PORT}" | summary)"
}

measure() { # measure BINARY
  echo "### $(basename "$1"): uncached (every URL distinct), then warm"
  start "$1"
  # Every URL of the lists is a tile (200 or 204), not a refusal.
  for list in distinct urls; do
    bad=$(head -200 "$WORK/$list.txt" | while read -r u; do
      curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT$u"; done | grep -cvE '^(200|204)$' || true)
    [ "$bad" = 0 ] || { echo "$bad of the first 200 $list URLs are not tiles" >&2; exit 1; }
  done
  settle
  run "uncached, distinct URLs, 1 connection" distinct 1 $((DURATION / 2))
  # A fresh start, so the tiles the first run made are not cached.
  stop
  start "$1"
  settle
  run "uncached, distinct URLs, 64 connections" distinct 64 "$DURATION"
  stop
  start "$1"
  settle
  while read -r u; do curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$u" -o /dev/null; done < "$WORK/urls.txt"
  run "warm (cache filled), gzip, 64 connections" urls 64 "$DURATION"
}

if [ -n "${BASELINE:-}" ]; then
  DATA="$WORK/$([ -n "${BASELINE_SAME_STORE:-}" ] && echo data || echo base-data)" measure "$BASELINE"
  stop
fi
measure "$BIN"

# Static copy of exactly these responses (gzip bytes) for the ceiling.
save_static $PORT urls
stop

static_nginx $STATIC_PORT
echo "### static ceiling: nginx serving the same gzip bytes"
run "nginx, same bytes, 64 connections" static-urls 64 "$DURATION" $STATIC_PORT
