#!/usr/bin/env bash
# talentmap and its peers on the same points and the same requests, in one
# sitting: the clustered points and the 2,000 viewport tile requests
# (zooms 8-16) of ../shared/peers (gen_data.py), which its scripts give to
# supercluster, PostGIS and Martin.
#
#  1. the points become talents (field 0-9 -> the taxonomy's first ten
#     fields, education 0-3, a birth year from the point's id, not seeking),
#     imported with Jinan's districts into a store of their own;
#  2. start: seconds from launch to every derived index built, resident MiB
#     (the saved snapshot written by a first start, then read);
#  3. talentmap: the request list over HTTP, nearly uncached (a fresh start
#     per run, the tile cache at its least), unfiltered and with `field=`
#     the peers' field 3, 1 and 64 connections; then warm (every URL asked
#     once before, the default cache), 64 connections;
#  4. supercluster 9.1.0 in process on the same points (getTile + vt-pbf
#     encode, one thread: the peers' bench_supercluster.mjs);
#  5. nginx serving talentmap's own gzip answers to the same list, 64
#     connections: the static ceiling for the warm run.
#
# Needs the peers' data (see ../shared/peers/README.md, steps 0-2: the venv,
# gen_data.py N, supercluster's node_modules), wrk, nginx and a release
# build. Nothing here asserts a time; the numbers go to BENCHMARKS.md.
#
# GROWTH=M (with gen_data.py M run) adds step 6: the same list on the
# peers' M points and on the N points, one connection, the tile cache at its
# least, in ROUNDS (3) rounds alternating the two: mean tile time N / M,
# unfiltered and with the field, beside how much the answers themselves
# grow (the list's MVT bytes at N / at M).
#
#   scripts/peers.sh [POINTS] [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-4000000}
DURATION=${2:-10}
PEERS=$(cd "${PEERS:-../shared/peers}" && pwd)
DATA_DIR=${PEERS_DATA:-/tmp/peers/data}
NODE_DIR=${PEERS_NODE:-/tmp/peers/node}
WORK=${WORK:-/tmp/talentmap-peers}
BIN=${BIN:-target/release/talentmap}
PORT=18090
STATIC_PORT=18091
for f in "$DATA_DIR/points_$N.csv" "$DATA_DIR/tiles.txt" "$NODE_DIR/node_modules/supercluster/package.json"; do
  [ -f "$f" ] || { echo "error: $f is missing; run steps 0-2 of $PEERS/README.md (gen_data.py $N)" >&2; exit 1; }
done
mkdir -p "$WORK"
. scripts/bench-common.sh
cargo build --release --quiet

# import_points N NAME: the peers' N points as talents in $WORK/NAME (kept
# while $WORK/NAME.points says N).
import_points() {
  [ "$(cat "$WORK/$2.points" 2>/dev/null)" != "$1" ] || return 0
  [ -f "$DATA_DIR/points_$1.csv" ] || { echo "error: $DATA_DIR/points_$1.csv is missing (gen_data.py $1)" >&2; exit 1; }
  rm -rf "${WORK:?}/$2"
  python3 - "$DATA_DIR/points_$1.csv" "$WORK/talents.csv" <<'PY'
import csv, sys
fields = [row[0] for row in csv.reader(open("fixtures/taxonomy/fields.csv"))][1:11]
education = ["associate", "bachelor", "master", "doctorate"]
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    out.write("id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n")
    for line in src:
        pid, lon, lat, field, edu = line.rstrip("\n").split(",")
        birth = 1961 + int(pid) * 7919 % 40
        out.write(f"P{pid},{lon},{lat},,,,{fields[int(field)]},{education[int(edu)]},none,none,{birth},false\n")
PY
  "$BIN" import regions fixtures/regions/jinan_districts.geojson --data "$WORK/$2" >/dev/null
  t0=$(date +%s.%N)
  # Points outside Jinan's districts are imported with a warning each.
  "$BIN" import talents "$WORK/talents.csv" --data "$WORK/$2" >/dev/null 2>"$WORK/import-warnings.txt"
  printf 'import %d talents: %.1f s\n' "$1" "$(echo "$(date +%s.%N) - $t0" | bc)"
  echo "$1" > "$WORK/$2.points"
}
import_points "$N" data
FIELD3=$(python3 -c 'import csv; print([r[0] for r in csv.reader(open("fixtures/taxonomy/fields.csv"))][1:11][3])')
awk '{printf "/tiles/talents/%d/%d/%d.mvt\n", $1, $2, $3}' "$DATA_DIR/tiles.txt" > "$WORK/plain.txt"
sed "s/\$/?field=$FIELD3/" "$WORK/plain.txt" > "$WORK/field.txt"
for list in plain field; do url_lua "$list"; done

SERVER=
NGINX=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; [ -n "$NGINX" ] && kill $NGINX 2>/dev/null; true' EXIT
start() { # start [serve args]
  t0=$(date +%s.%N)
  MIMALLOC_PURGE_DELAY=0 "$BIN" serve --addr 127.0.0.1:$PORT --data "$WORK/${CITY:-data}" --web /nonexistent --rate-limit 0 "$@" \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 1200); do grep -q "derived indexes built" "$WORK/server.log" && break; sleep 0.05; done
}
stop() { kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; SERVER=; }
run() { # run LABEL LIST CONNECTIONS [PORT]
  printf "%-52s %s\n" "$1" "$(wrk_run "$2" "$3" "$DURATION" "${4:-$PORT}")"
}

echo "### start ($N points)"
rm -f "$WORK/data/snapshot.bin" "$WORK/data/derived.bin"
start
for _ in $(seq 1 1200); do [ -f "$WORK/data/derived.bin" ] && break; sleep 0.1; done
stop
for _ in 1 2; do
  start
  printf 'every derived index built %.2f s after launch, ' "$(echo "$(date +%s.%N) - $t0" | bc)"
  sleep 1
  printf '%d MiB resident\n' "$(( $(awk '/VmRSS/{print $2}' /proc/$SERVER/status) / 1024 ))"
  stop
done

# The list repeats (2,000 requests of 950 tiles, asked over and over for the
# run's duration): with the tile cache at its least (1 MiB, against about
# 58 MB of tiles in the list) and warm URIs in a quarter of it, nearly every
# request is rendered.
echo "### talentmap: the peers' 2,000 requests"
for list in plain field; do
  for c in 1 64; do
    start --tile-cache-mib 1; run "cache 1 MiB, $list, $c connection(s)" "$list" "$c"; stop
  done
done
start
while read -r u; do curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$u" -o /dev/null; done < "$WORK/plain.txt"
run "warm, plain, gzip, 64 connections" plain 64
save_static $PORT plain
stop

echo "### supercluster 9.1.0, in process, same points and tiles"
# supercluster N: the peers' bench on N points, its output in $WORK/supercluster-N.txt.
supercluster() {
  (cd "$NODE_DIR" && cp "$PEERS/bench_supercluster.mjs" . && node --expose-gc --max-old-space-size=16000 bench_supercluster.mjs "$1" 1 3) \
    > "$WORK/supercluster-$1.txt"
  grep -E "^load|^tiles|peak RSS" "$WORK/supercluster-$1.txt"
}
supercluster "$N"

static_nginx $STATIC_PORT
echo "### static ceiling: nginx serving talentmap's gzip answers"
run "nginx, same bytes, 64 connections" static-urls 64 $STATIC_PORT

if [ -n "${GROWTH:-}" ]; then
  import_points "$GROWTH" small
  if [ ! -f "$WORK/small/derived.bin" ]; then
    CITY=small start
    for _ in $(seq 1 1200); do [ -f "$WORK/small/derived.bin" ] && break; sleep 0.1; done
    stop
  fi
  echo "### growth: the list on $N points against $GROWTH, one connection, tile cache 1 MiB, alternating"
  declare -A SUM=([small-plain]=0 [data-plain]=0 [small-field]=0 [data-field]=0) BYTES
  for r in $(seq 1 "${ROUNDS:-3}"); do
    for city in small data; do
      for list in plain field; do
        CITY=$city start --tile-cache-mib 1
        run "round $r, $([ $city = small ] && echo "$GROWTH" || echo "$N") points, $list" $list 1
        SUM[$city-$list]=$(echo "${SUM[$city-$list]} + $(rps)" | bc)
        # The list's answers as asked, uncompressed.
        [ "$r" != 1 ] || BYTES[$city-$list]=$(answer_bytes $PORT < "$WORK/$list.txt")
        stop
      done
    done
  done
  for list in plain field; do
    t=$(ratio "${SUM[small-$list]}" "${SUM[data-$list]}") b=$(ratio "${BYTES[data-$list]}" "${BYTES[small-$list]}")
    printf '%s: mean tile time %s / %s = %sx; the answers %d / %d bytes = %sx; time per byte %sx\n' "$list" \
      "$N" "$GROWTH" "$t" "${BYTES[data-$list]}" "${BYTES[small-$list]}" "$b" \
      "$(ratio "$(echo "${SUM[small-$list]} * ${BYTES[small-$list]}" | bc)" "$(echo "${SUM[data-$list]} * ${BYTES[data-$list]}" | bc)")"
  done
  echo "### growth: supercluster on $GROWTH points (getTile + encode, the same list)"
  supercluster "$GROWTH" | grep -E "^tiles plain" | cut -c1-120
  python3 - "$WORK/supercluster-$GROWTH.txt" "$WORK/supercluster-$N.txt" "$N" "$GROWTH" <<'PY'
import json, sys
def plain(path):
    line = next(l for l in open(path) if l.startswith("tiles plain:"))
    return json.loads(line.split(":", 1)[1])["getTile_encode"] | {"bytes": json.loads(line.split(":", 1)[1])["bytes_total"]}
small, big = plain(sys.argv[1]), plain(sys.argv[2])
t = small["tiles_per_s"] / big["tiles_per_s"]
b = big["bytes"] / small["bytes"]
print(f"supercluster plain: mean tile time {sys.argv[3]} / {sys.argv[4]} = {t:.2f}x; its answers {b:.2f}x the bytes; time per byte {t / b:.2f}x")
PY
fi
