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
#     static ceiling) with the same wrk settings, in rounds alternating with
#     the warm server (the means of the rounds make the ratio);
#  4. freshness: `examples/flows_scale.rs` on a copy of the store, with
#     each published snapshot's derived indexes rebuilt in the background
#     as `serve` does (`--warm 1`), batches
#     of 10,000 moves posted until each is in the served snapshot, naming
#     other talents each batch, then the same 20,000 again and again, a
#     day apart (each batch sent again after its answer, then back to back)
#     and then all on one day;
#  5. growth: a city of a quarter of the talents from the same seed, and
#     the mean tile time on both (the distinct URLs, and unfiltered talent
#     tiles with the tile cache at its least), one connection, in rounds
#     that alternate the two cities;
#  6. the targets, each with the number measured above and met or not.
#
# ROUNDS (3) sets the rounds of steps 3 and 5, BATCHES (20) the batches of step 4;
# SKIP_TARGETS=1 stops after step 3.
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
[ -n "${SKIP_TARGETS:-}" ] || cargo build --release --quiet --example flows_scale

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
  # t0 and t1 are read by the caller.
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
max() { echo "$1 $2" | awk '{print ($2 > $1) ? $2 : $1}'; }
# The p99 in ms of the last wrk run.
p99ms() {
  awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    print (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }' "$WORK/last-run.txt"
}

echo "### start"
rm -f "$WORK/data/snapshot.bin" "$WORK/data/derived.bin"
start "$BIN"
# The saved snapshot and then the saved derived indexes are written in the
# background after the first publish.
for _ in $(seq 1 1200); do [ -f "$WORK/data/derived.bin" ] && break; sleep 0.1; done
sleep 1
grep -E "snapshot ready|derived indexes|snapshot saved" "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c29-
stop
READY_MAX=0 BUILT_MAX=0 RSS_MAX=0
for _ in 1 2 3; do
  start "$BIN"
  READY_MAX=$(max "$READY_MAX" "$(echo "$t1 - $t0" | bc)")
  settle
  built=$(echo "$(date +%s.%N) - $t0" | bc)
  BUILT_MAX=$(max "$BUILT_MAX" "$built")
  printf 'every derived index built %.2f s after launch, ' "$built"
  sleep 3
  kb=$(awk '/VmRSS/{print $2}' /proc/$SERVER/status)
  RSS_MAX=$(max "$RSS_MAX" "$(( kb * 1024 / 1000000 ))")
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
# Unfiltered talent tiles over the city (step 5, with the tile cache at its
# least).
plain = [f"/tiles/talents/{z}/{x}/{y}.mvt" for z in range(9, 15) for x, y in tiles(z, 200)]
random.Random(7).shuffle(plain)
open(f"{work}/plain.txt", "w").write("\n".join(plain) + "\n")
print(len(urls), "warm URLs,", len(distinct), "distinct uncached URLs,", len(plain), "unfiltered URLs")
PY

for list in urls distinct plain; do url_lua "$list"; done

run() { # run LABEL LIST CONNECTIONS SECONDS [PORT]
  printf "%-58s %s\n" "$1" "$(wrk_run "$2" "$3" "$4" "${5:-$PORT}")"
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
  ONE_RPS=$(rps) ONE_P99=$(p99ms)
  # A fresh start, so the tiles the first run made are not cached.
  stop
  start "$1"
  settle
  run "uncached, distinct URLs, 64 connections" distinct 64 "$DURATION"
  MANY_RPS=$(rps)
  stop
  start "$1"
  settle
  while read -r u; do curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$u" -o /dev/null; done < "$WORK/urls.txt"
  run "warm (cache filled), gzip, 64 connections" urls 64 "$DURATION"
  WARM_RPS=$(rps)
}

if [ -n "${BASELINE:-}" ]; then
  DATA="$WORK/$([ -n "${BASELINE_SAME_STORE:-}" ] && echo data || echo base-data)" measure "$BASELINE"
  stop
fi
measure "$BIN"

# Static copy of exactly these responses (gzip bytes) for the ceiling.
save_static $PORT urls
static_nginx $STATIC_PORT
# The server above stays up, warm; it and nginx take turns, so that a
# passing change in the machine weighs on both sides of the ratio.
echo "### static ceiling: nginx serving the same gzip bytes, in rounds alternating with the warm server"
WARM_SUM=0 NGINX_SUM=0
for r in $(seq 1 "${ROUNDS:-3}"); do
  run "round $r, talentmap warm, gzip, 64 connections" urls 64 "$DURATION"
  WARM_SUM=$(echo "$WARM_SUM + $(rps)" | bc)
  run "round $r, nginx, same bytes, 64 connections" static-urls 64 "$DURATION" $STATIC_PORT
  NGINX_SUM=$(echo "$NGINX_SUM + $(rps)" | bc)
done
WARM_RPS=$(echo "$WARM_SUM / ${ROUNDS:-3}" | bc -l)
NGINX_RPS=$(echo "$NGINX_SUM / ${ROUNDS:-3}" | bc -l)
stop
kill $NGINX 2>/dev/null; wait $NGINX 2>/dev/null || true; NGINX=
[ -z "${SKIP_TARGETS:-}" ] || exit 0

# Four times: batches naming other talents each time (a pool as large as
# the batches' moves), then the example's 20,000 talents named again and
# again (each gains a move every other batch: a history that keeps
# growing), each batch a day after the one before (a feed's order: the
# talents' stored moves are not read again), the same back to back (no
# retry after each batch: each new batch comes in while the write-ahead
# log's checkpoint of the one before still runs), and all on one day (each
# talent's history replayed whole).
BATCHES=${BATCHES:-20}
for run in "$((BATCHES * 10000)) 0 1" "20000 1 1" "20000 1 0" "20000 0 1"; do
  read -r pool daily retries <<< "$run"
  echo "### freshness: $BATCHES batches of 10,000 moves naming $pool talents in turn$([ "$daily" = 1 ] && echo ", a day apart")$([ "$retries" = 0 ] && echo ", back to back"), on a copy of the store (examples/flows_scale.rs)"
  out="$WORK/fresh-$pool-$daily-$retries.txt"
  MIMALLOC_PURGE_DELAY=0 target/release/examples/flows_scale --store "$WORK/data" --batches "$BATCHES" --spread 1 \
    --pool "$pool" --daily "$daily" --retries "$retries" --warm 1 > "$out" 2>&1 || { cat "$out"; exit 1; }
  grep -E "^\| (new|retried) batch|in the served snapshot|more than 1 s|the first batch" "$out"
done
# p50, p99 and max of the new batches' answers, in ms.
fresh() { awk -F'|' '/^\| new batch/{gsub(/ /, ""); print $4, $5, $6}' "$WORK/fresh-$1.txt"; }
read -r FRESH_P50 FRESH_P99 FRESH_MAX < <(fresh $((BATCHES * 10000))-0-1)
read -r DAILY_P50 DAILY_P99 DAILY_MAX < <(fresh 20000-1-1)
read -r B2B_P50 B2B_P99 B2B_MAX < <(fresh 20000-1-0)
read -r AGAIN_P50 AGAIN_P99 AGAIN_MAX < <(fresh 20000-0-1)

QUARTER=$((TALENTS / 4))
echo "### growth: $TALENTS against $QUARTER talents (the same seed), one connection, alternating"
if [ ! -f "$WORK/quarter/talentmap.sqlite" ] || [ "$(cat "$WORK/quarter-talents" 2>/dev/null)" != "$QUARTER" ]; then
  TALENTS=$QUARTER city "$BIN" quarter
  echo "$QUARTER" > "$WORK/quarter-talents"
fi
if [ ! -f "$WORK/quarter/derived.bin" ]; then
  DATA="$WORK/quarter" start "$BIN"
  for _ in $(seq 1 600); do [ -f "$WORK/quarter/derived.bin" ] && break; sleep 0.1; done
  stop
fi
declare -A SUM=([quarter-distinct]=0 [data-distinct]=0 [quarter-plain]=0 [data-plain]=0) BYTES
for r in $(seq 1 "${ROUNDS:-3}"); do
  for city in quarter data; do
    for list in distinct plain; do
      # A fresh start for each run; unfiltered tiles with the cache at its
      # least, so that nearly every request is rendered.
      DATA="$WORK/$city" start "$BIN" $([ $list = plain ] && echo --tile-cache-mib 1) >/dev/null
      settle
      run "round $r, $city ($([ $city = quarter ] && echo $QUARTER || echo "$TALENTS") talents), $list" $list 1 $((DURATION / 2))
      SUM[$city-$list]=$(echo "${SUM[$city-$list]} + $(rps)" | bc)
      if [ "$r" = 1 ]; then
        # The answers themselves, uncompressed: the first 500 URLs of the list.
        BYTES[$city-$list]=$(head -500 "$WORK/$list.txt" | answer_bytes $PORT)
      fi
      stop
    done
  done
done
GROW_DISTINCT=$(ratio "${SUM[quarter-distinct]}" "${SUM[data-distinct]}")
GROW_PLAIN=$(ratio "${SUM[quarter-plain]}" "${SUM[data-plain]}")
for list in distinct plain; do
  printf '%s: mean tile time %s / %s = %sx; the answers (first 500 URLs) %d / %d bytes = %sx\n' "$list" \
    "$TALENTS" "$QUARTER" "$(ratio "${SUM[quarter-$list]}" "${SUM[data-$list]}")" \
    "${BYTES[data-$list]}" "${BYTES[quarter-$list]}" "$(ratio "${BYTES[data-$list]}" "${BYTES[quarter-$list]}")"
done

echo "### targets ($TALENTS talents)"
verdict() { [ "$(echo "$1" | bc)" = 1 ] && echo met || echo "NOT met"; }
WARM_RATIO=$(ratio "$WARM_RPS" "$NGINX_RPS")
printf '| target | measured | |\n|---|---|---|\n'
printf '| start <= 2 s | ready %.2f s, every derived index %.2f s (the slowest of 3 starts) | %s |\n' \
  "$READY_MAX" "$BUILT_MAX" "$(verdict "$BUILT_MAX <= 2")"
printf '| resident <= 600 MB | %d MB (the largest of 3 starts, 3 s after every index) | %s |\n' \
  "$RSS_MAX" "$(verdict "$RSS_MAX <= 600")"
printf '| a 10,000-move batch visible <= 1 s p99, other talents each batch | p50 %s ms, p99 %s ms, max %s ms (%s batches) | %s |\n' \
  "$FRESH_P50" "$FRESH_P99" "$FRESH_MAX" "$BATCHES" "$(verdict "$FRESH_P99 <= 1000")"
printf '| the same, 20,000 talents named again and again, a day apart | p50 %s ms, p99 %s ms, max %s ms (%s batches) | %s |\n' \
  "$DAILY_P50" "$DAILY_P99" "$DAILY_MAX" "$BATCHES" "$(verdict "$DAILY_P99 <= 1000")"
printf '| the same, a day apart, back to back (no retry after each) | p50 %s ms, p99 %s ms, max %s ms (%s batches) | %s |\n' \
  "$B2B_P50" "$B2B_P99" "$B2B_MAX" "$BATCHES" "$(verdict "$B2B_P99 <= 1000")"
printf '| the same, 20,000 talents again and again, all on one day | p50 %s ms, p99 %s ms, max %s ms (%s batches) | %s |\n' \
  "$AGAIN_P50" "$AGAIN_P99" "$AGAIN_MAX" "$BATCHES" "$(verdict "$AGAIN_P99 <= 1000")"
printf '| uncached >= 10,000 /s, 64 connections, distinct URLs | %.0f /s | %s |\n' \
  "$MANY_RPS" "$(verdict "$MANY_RPS >= 10000")"
printf '| uncached p99 <= 10 ms, 1 connection | %s ms (%.0f /s) | %s |\n' \
  "$ONE_P99" "$ONE_RPS" "$(verdict "$ONE_P99 <= 10")"
printf '| warm >= 0.7x nginx | %.0f /s against %.0f /s: %sx | %s |\n' \
  "$WARM_RPS" "$NGINX_RPS" "$WARM_RATIO" "$(verdict "$WARM_RATIO >= 0.7")"
printf '| tile time %s / %s <= 1.3x, filtered (distinct URLs) | %sx (%s rounds; the answers %sx the bytes) | %s |\n' \
  "$TALENTS" "$QUARTER" "$GROW_DISTINCT" "${ROUNDS:-3}" "$(ratio "${BYTES[data-distinct]}" "${BYTES[quarter-distinct]}")" \
  "$(verdict "$GROW_DISTINCT <= 1.3")"
printf '| tile time %s / %s <= 1.3x, unfiltered | %sx (%s rounds; the answers %sx the bytes) | %s |\n' \
  "$TALENTS" "$QUARTER" "$GROW_PLAIN" "${ROUNDS:-3}" "$(ratio "${BYTES[data-plain]}" "${BYTES[quarter-plain]}")" \
  "$(verdict "$GROW_PLAIN <= 1.3")"
