#!/usr/bin/env bash
# Tile load test: the release server on a generated city, a realistic mixed
# set of tile URLs (layers × zooms × filters over the city), driven by wrk,
# cold cache then warm cache; then the same tile bytes served as static
# files by nginx in the same run, as the ceiling. Loopback only, bounded in
# time. Needs: wrk, nginx (apt-get install wrk nginx-light), a release build.
#
#   scripts/load.sh [TALENTS] [DURATION_SECONDS]
#
# The per-client rate limit is off for the run (every connection comes from
# 127.0.0.1); RATE=N sets it. scripts/soak.sh has the soak, abuse and
# responsiveness tests.
set -euo pipefail
cd "$(dirname "$0")/.."
TALENTS=${1:-1000000}
DURATION=${2:-20}
WORK=${WORK:-/tmp/talentmap-load}
PORT=18080
STATIC_PORT=18081
BIN=target/release/talentmap
mkdir -p "$WORK"
cargo build --release --quiet

if [ ! -f "$WORK/data/talentmap.sqlite" ] || [ "$(cat "$WORK/talents" 2>/dev/null)" != "$TALENTS" ]; then
  rm -rf "$WORK/data" "$WORK/files"
  "$BIN" generate --out "$WORK/files" --talents "$TALENTS" --enterprises $((TALENTS / 20)) >/dev/null
  for k in regions enterprises stations vacancies talents moves; do
    f=$(ls "$WORK/files/$k".* | head -1)
    "$BIN" import "$k" "$f" --data "$WORK/data" >/dev/null
  done
  echo "$TALENTS" > "$WORK/talents"
fi

"$BIN" serve --addr 127.0.0.1:$PORT --data "$WORK/data" --web /nonexistent --rate-limit "${RATE:-0}" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; [ -n "${NGINX:-}" ] && kill $NGINX 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.5; done

# URL list: every tile over the city centre at zooms 9-14 for three layers,
# without filter and with one filter.
python3 - "$WORK/urls.txt" <<'PY'
import math, sys
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    r = math.radians(lat)
    y = int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
    return x, y
urls = []
for z in range(9, 15):
    x0, y0 = tile(116.85, 36.75, z)
    x1, y1 = tile(117.25, 36.55, z)
    step = max(1, (x1 - x0 + 1) * (y1 - y0 + 1) // 40)
    i = 0
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            i += 1
            if i % step:
                continue
            for layer in ("talents", "vacancies", "enterprises"):
                urls.append(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
                if layer != "enterprises":
                    urls.append(f"/tiles/{layer}/{z}/{x}/{y}.mvt?field=0812")
open(sys.argv[1], "w").write("\n".join(urls) + "\n")
print(len(urls), "urls")
PY

cat > "$WORK/urls.lua" <<LUA
local urls = {}
for line in io.lines("$WORK/urls.txt") do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
LUA

# Static copy of exactly these responses for the ceiling.
rm -rf "$WORK/static"; mkdir -p "$WORK/static"
while read -r u; do
  f="$WORK/static$(echo "$u" | tr '?=' '__')"
  mkdir -p "$(dirname "$f")"
  curl -s "http://127.0.0.1:$PORT$u" -o "$f"
done < "$WORK/urls.txt"
sed -e 's/[?=]/_/g' "$WORK/urls.txt" > "$WORK/static-urls.txt"
sed -e "s#$WORK/urls.txt#$WORK/static-urls.txt#" "$WORK/urls.lua" > "$WORK/static.lua"

# Restart the server so the first pass is cold.
kill $SERVER; wait $SERVER 2>/dev/null || true
"$BIN" serve --addr 127.0.0.1:$PORT --data "$WORK/data" --web /nonexistent --rate-limit "${RATE:-0}" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.5; done

echo "### cold cache (first pass over $(wc -l < "$WORK/urls.txt") URLs, 1 connection)"
wrk -t1 -c1 -d"$(( DURATION / 2 ))"s -s "$WORK/urls.lua" --latency "http://127.0.0.1:$PORT" | grep -E "Latency|50%|99%|Requests/sec"
echo "### warm cache (4 connections)"
wrk -t2 -c4 -d"${DURATION}"s -s "$WORK/urls.lua" --latency "http://127.0.0.1:$PORT" | grep -E "Latency|50%|99%|Requests/sec"

cat > "$WORK/nginx.conf" <<NGX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  types { application/vnd.mapbox-vector-tile mvt; }
  server { listen 127.0.0.1:$STATIC_PORT; root $WORK/static; }
}
NGX
nginx -c "$WORK/nginx.conf" -g 'daemon off;' &
NGINX=$!
sleep 1
echo "### static ceiling: nginx serving the same tile bytes (4 connections)"
wrk -t2 -c4 -d"${DURATION}"s -s "$WORK/static.lua" --latency "http://127.0.0.1:$STATIC_PORT" | grep -E "Latency|50%|99%|Requests/sec"
