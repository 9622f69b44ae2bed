#!/usr/bin/env bash
# Soak, abuse and responsiveness test of the release server on a generated
# city. Loopback only (127.0.0.1), every step bounded in time. Needs wrk
# (apt-get install wrk), python3, curl and a release build (built here).
#
#   scripts/soak.sh [TALENTS] [SOAK_SECONDS]
#
# 1. abuse: four 58 MB moves bodies (1,000,000 moves) with Content-Length,
#    four of them chunked, four maximal invalid batches (50,000 moves just
#    under the body limit) and long URIs, all at once, while /health is
#    probed; server RSS before and after.
# 2. soak: SOAK_SECONDS (default 60) with 64 connections over tiles,
#    analytics routes and the moves feed together; status counts (only 429
#    and 503 are allowed besides 2xx/3xx), p50/p99, RSS before and after.
# 3. responsiveness: 8 connections of expensive requests (zoom-14 filtered
#    /api/aggregates, shortage rankings with cold catchments) while /health
#    and a cached tile are probed one request at a time; p50/p99 of both
#    against the 20 ms goal.
#
# The per-client rate limit is off for the run (all connections come from
# 127.0.0.1); RATE=N sets it. STRICT=1 makes a missed goal fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
TALENTS=${1:-1000000}
SOAK=${2:-60}
WORK=${WORK:-/tmp/talentmap-load}
PORT=${PORT:-18090}
RATE=${RATE:-0}
STRICT=${STRICT:-0}
BIN=target/release/talentmap
URL="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 2; }
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

# The moves feed is for feeders: a key for this run (its last line).
FEEDER=$("$BIN" keys create --role feeder --name soak --data "$WORK/data" | tail -n 1)
"$BIN" serve --addr "127.0.0.1:$PORT" --data "$WORK/data" --web /nonexistent --rate-limit "$RATE" \
  >"$WORK/soak-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "$URL/health" >/dev/null && break; sleep 0.5; done
rss() { echo $(( $(ps -o rss= -p "$SERVER") / 1024 )); }
FAILED=0

# ---- inputs -------------------------------------------------------------
python3 - "$WORK" "$URL" <<'PY'
import json, math, random, sys, urllib.request
work, url = sys.argv[1], sys.argv[2]
regions = json.load(urllib.request.urlopen(url + "/api/regions"))
ids = [f["properties"]["id"] for f in regions["features"]]
def tile(lon, lat, z):
    n = 2 ** z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
tiles = []
for z in range(9, 15):
    (x0, y0), (x1, y1) = tile(116.85, 36.75, z), tile(117.25, 36.55, z)
    step = max(1, (x1 - x0 + 1) * (y1 - y0 + 1) // 40)
    for i, (x, y) in enumerate((x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)):
        if i % step == 0:
            for layer in ("talents", "vacancies", "enterprises"):
                tiles.append(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
            tiles.append(f"/tiles/talents/{z}/{x}/{y}.mvt?field=0812")
api = ["/api/stats", "/api/commute/districts", "/api/flows/od?level=district",
       "/api/shortage?field=0812&by=district", "/api/shortage?field=0812&by=park",
       "/api/enterprises?bbox=116.9,36.6,117.1,36.7&limit=50"]
for z in (10, 12):
    api.append(f"/api/aggregates?layer=talents&zoom={z}&bbox=116.9,36.6,117.1,36.7")
for area in ids[:8]:
    api += [f"/api/commute/summary?area={area}", f"/api/flows/series?area={area}",
            f"/api/mismatch?area={area}", f"/api/shortage/fields?area={area}"]
open(f"{work}/soak-tiles.txt", "w").write("\n".join(tiles) + "\n")
open(f"{work}/soak-api.txt", "w").write("\n".join(api) + "\n")
import csv
rows = list(csv.DictReader(open(f"{work}/files/moves.csv", encoding="utf-8")))[:20]
def move(i, event=None):
    m = dict(rows[i % len(rows)], id=f"SOAK{i}")
    if event:
        m["event"] = event
    return m
# The feed: one fixed batch (stored once, then "unchanged": no rebuilds).
json.dump({"moves": [move(i) for i in range(20)]}, open(f"{work}/soak-moves.json", "w"))
# Abuse: 1,000,000 moves (about 60 MB) and 50,000 invalid ones (about 15 MB, under the 16 MiB limit).
with open(f"{work}/abuse-huge.json", "w") as f:
    json.dump({"moves": [{"id": f"M{i}", "event": "arrive", "date": "2026-05-01"} for i in range(1_000_000)]}, f)
pad = "x" * 80
json.dump({"moves": [dict(move(i, "bogus"), destination=pad) for i in range(50_000)]},
          open(f"{work}/abuse-max.json", "w"))
print(len(tiles), "tile URLs,", len(api), "analytics URLs")
PY
ls -l "$WORK"/abuse-*.json | awk '{print $5, $9}'

# One request at a time on a kept-alive connection, every 10 ms: a user's
# latency, without a load generator hogging a core.
cat > "$WORK/probe.py" <<'PY'
import http.client, sys, time
host, port, path, seconds, label = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
conn = http.client.HTTPConnection(host, port, timeout=30)
lat, bad, end = [], 0, time.monotonic() + seconds
while time.monotonic() < end:
    t = time.perf_counter()
    try:
        conn.request("GET", path)
        r = conn.getresponse(); r.read()
        bad += r.status >= 400
    except Exception:
        bad += 1; conn = http.client.HTTPConnection(host, port, timeout=30)
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.01)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{label}: n={len(lat)} errors={bad} p50={q(0.5):.1f} ms p99={q(0.99):.1f} ms max={lat[-1]:.1f} ms")
PY

# ---- 1. abuse -----------------------------------------------------------
echo "### 1. abuse: oversized, chunked, maximal and long-URI requests at once"
sleep 2
RSS0=$(rss)
python3 "$WORK/probe.py" 127.0.0.1 "$PORT" /health 20 "/health during abuse" &
PROBE=$!
abuse() {
  local pids=()
  for _ in 1 2 3 4; do
    curl -s -o /dev/null -w '%{http_code} ' --max-time 60 -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $FEEDER" --data-binary @"$WORK/abuse-huge.json" "$URL/api/moves" & pids+=($!)
    curl -s -o /dev/null -w '%{http_code} ' --max-time 60 -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $FEEDER" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/abuse-huge.json" "$URL/api/moves" & pids+=($!)
    curl -s -o /dev/null -w '%{http_code} ' --max-time 60 -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $FEEDER" --data-binary @"$WORK/abuse-max.json" "$URL/api/moves" & pids+=($!)
    curl -s -o /dev/null -w '%{http_code} ' --max-time 60 "$URL/api/stats?q=$(head -c 100000 /dev/zero | tr '\0' a)" & pids+=($!)
  done
  wait "${pids[@]}" || true
}
for round in 1 2; do echo "round $round statuses: $(abuse)"; done
wait $PROBE || true
sleep 5
RSS1=$(rss)
echo "RSS before ${RSS0} MiB, after ${RSS1} MiB"

# ---- 2. soak ------------------------------------------------------------
echo "### 2. soak: ${SOAK} s, 64 connections, tiles + analytics + moves feed"
cat > "$WORK/soak.lua" <<LUA
local tiles, api = {}, {}
for l in io.lines("$WORK/soak-tiles.txt") do tiles[#tiles + 1] = l end
for l in io.lines("$WORK/soak-api.txt") do api[#api + 1] = l end
local f = io.open("$WORK/soak-moves.json"); local moves = f:read("*a"); f:close()
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {}; n = 0 end
function request()
  n = n + 1
  if n % 50 == 0 then
    return wrk.format("POST", "/api/moves", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $FEEDER"}, moves)
  elseif n % 4 == 0 then
    return wrk.format("GET", api[math.floor(n / 4) % #api + 1])
  end
  return wrk.format("GET", tiles[n % #tiles + 1])
end
function response(status) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  local keys = {}
  for k in pairs(total) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do io.write(string.format("status %d: %d\n", k, total[k])) end
  io.write(string.format("socket errors: connect %d read %d write %d timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("p50 %.1f ms, p99 %.1f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
RSS2=$(rss)
wrk -t2 -c64 -d"${SOAK}s" --timeout 30s -s "$WORK/soak.lua" "$URL" | tee "$WORK/soak-out.txt" | grep -vE "^\s*(Thread|Latency|Req/Sec|[0-9]+ requests|Running|64 conn)"
sleep 5
RSS3=$(rss)
echo "RSS before ${RSS2} MiB, after ${RSS3} MiB"
UNEXPECTED=$(grep -E '^status ' "$WORK/soak-out.txt" | awk '$2+0 >= 400 && $2+0 != 429 && $2+0 != 503 {s += $3} END {print s+0}')
SOCKET=$(grep -E '^socket errors' "$WORK/soak-out.txt" | grep -oE '[0-9]+' | awk '{s += $1} END {print s+0}')
echo "unexpected error statuses: $UNEXPECTED, socket errors: $SOCKET"
[ "$UNEXPECTED" = 0 ] && [ "$SOCKET" = 0 ] || FAILED=1

# ---- 3. responsiveness under expensive requests --------------------------
echo "### 3. /health and a cached tile while 8 connections run expensive requests"
cat > "$WORK/heavy.lua" <<'LUA'
local fields = {"0812", "0810", "1007", "0202", "0802"}
local n, threads = 0, 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) math.randomseed(os.time() * 100 + id) end
-- As a browser asks: large answers come back compressed.
local h = {["Accept-Encoding"] = "gzip, deflate, br, zstd"}
function request()
  n = n + 1
  local f = fields[math.random(#fields)]
  if n % 2 == 0 then
    return wrk.format("GET", string.format(
      "/api/aggregates?layer=talents&zoom=14&bbox=116.85,36.55,117.2,36.75&field=%s&min_age=%d", f, 5 * math.random(4, 8)), h)
  end
  -- A radius not asked before: a cold catchment.
  return wrk.format("GET", string.format("/api/shortage?field=%s&by=district&radius=%.2f", f, 1 + math.random() * 40), h)
end
LUA
TILE=$(sed -n 1p "$WORK/soak-tiles.txt")
curl -s -o /dev/null "$URL$TILE"
wrk -t2 -c8 -d25s --timeout 60s -s "$WORK/heavy.lua" --latency "$URL" > "$WORK/heavy-out.txt" &
HEAVY=$!
sleep 3
python3 "$WORK/probe.py" 127.0.0.1 "$PORT" /health 20 "/health" > "$WORK/probe-health.txt" &
P1=$!
python3 "$WORK/probe.py" 127.0.0.1 "$PORT" "$TILE" 20 "cached tile" > "$WORK/probe-tile.txt" &
P2=$!
wait $P1 $P2 $HEAVY || true
grep -E "Requests/sec|Non-2xx|50%|99%" "$WORK/heavy-out.txt" | sed 's/^/expensive: /'
cat "$WORK/probe-health.txt" "$WORK/probe-tile.txt"
for f in "$WORK/probe-health.txt" "$WORK/probe-tile.txt"; do
  p99=$(grep -oE 'p99=[0-9.]+' "$f" | cut -d= -f2)
  if awk -v p="$p99" 'BEGIN {exit !(p > 20)}'; then echo "goal missed: p99 ${p99} ms > 20 ms ($f)"; [ "$STRICT" = 1 ] && FAILED=1; fi
done
echo "### server RSS: start ${RSS0} MiB, after abuse ${RSS1} MiB, after soak ${RSS3} MiB, end $(rss) MiB"
exit $FAILED
