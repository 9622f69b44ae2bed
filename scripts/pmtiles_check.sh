#!/usr/bin/env bash
# PMTiles export test: `talentmap export pmtiles` is run for every layer of
# /tiles (with and without a query) on a small generated city while a server
# runs on the same store, and each archive is read by independent readers
# (tests/pmtiles/check.py: the `pmtiles` and `mapbox-vector-tile` Python
# packages) and compared tile by tile with the server's answers. Also: two
# exports at one data version are byte-identical, and a refused export writes
# nothing.
#
#   scripts/pmtiles_check.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug/talentmap}
PORT=${PMTILES_CHECK_PORT:-18092}
. scripts/demo-server.sh

VENV=$(scripts/tools-venv.sh)
start_demo_server "$BIN" "$PORT"

# layer | filters (NAME=VALUE, space-separated) | minzoom | maxzoom
cases=(
  "talents||0|12"
  "talents|education=master field=0812|0|11"
  "vacancies||0|11"
  "enterprises||8|13"
  "regions||0|10"
  "stations||0|12"
  "shortage|field=0812|0|10"
  "commute|work_area=park-qilu-software|0|11"
)
n=0
for c in "${cases[@]}"; do
  IFS='|' read -r layer filters minzoom maxzoom <<<"$c"
  args=() query=""
  for f in $filters; do
    args+=(--filter "$f")
    query="${query:+$query&}$f"
  done
  n=$((n + 1))
  out="$WORK/$n-$layer.pmtiles"
  "$BIN" export pmtiles --data "$WORK/data" --layer "$layer" "${args[@]}" \
    --minzoom "$minzoom" --maxzoom "$maxzoom" --out "$out" >"$WORK/summary.json"
  # The archive's query is the canonical one the tile URLs carry.
  canonical=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["query"])' "$WORK/summary.json")
  [ -n "$query" ] || [ -z "$canonical" ] || { echo "FAIL: query '$canonical' for no filters"; exit 1; }
  "$VENV/bin/python" tests/pmtiles/check.py "$out" "http://127.0.0.1:$PORT" "$layer" "$canonical" "$minzoom" "$maxzoom"
done

# One data version, one archive: the bytes do not depend on the run.
"$BIN" export pmtiles --data "$WORK/data" --layer talents --maxzoom 12 --out "$WORK/again.pmtiles" >/dev/null
cmp "$WORK/1-talents.pmtiles" "$WORK/again.pmtiles" || { echo "FAIL: two exports differ"; exit 1; }

# A refused export exits 1, says why and leaves the existing file alone.
status=0
"$BIN" export pmtiles --data "$WORK/data" --layer talents --filter education=phd --out "$WORK/again.pmtiles" \
  2>"$WORK/err.txt" >/dev/null || status=$?
[ "$status" -eq 1 ] || { echo "FAIL: a bad filter exited $status"; exit 1; }
grep -q "education" "$WORK/err.txt" || { echo "FAIL: the error does not name the parameter"; cat "$WORK/err.txt"; exit 1; }
cmp -s "$WORK/1-talents.pmtiles" "$WORK/again.pmtiles" || { echo "FAIL: a refused export changed the file"; exit 1; }
[ ! -e "$WORK/again.pmtiles.partial" ] || { echo "FAIL: a partial file is left"; exit 1; }
# An archive large enough for leaf directories, read tile by tile.
"${CARGO:-cargo}" run --quiet --example pmtiles_directories -- "$WORK/directories.pmtiles"
"$VENV/bin/python" tests/pmtiles/check.py --directories "$WORK/directories.pmtiles"
echo "pmtiles export: ${#cases[@]} archives and the directory test checked"
