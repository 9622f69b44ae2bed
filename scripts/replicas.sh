#!/usr/bin/env bash
# Two replicas on one PostgreSQL store behind nginx, in one run:
#
#  1. import: a generated city into a new PostgreSQL database and into a
#     SQLite store, each kind timed, then the snapshot build of each
#     (a start without the saved snapshot);
#  2. throughput: warm tiles through nginx with one replica, then two;
#  3. a replica killed: wrk through nginx (one retry on the other replica)
#     while replica B is killed with SIGKILL and started again, and a feeder
#     posts moves batches through nginx all along; reports failed requests
#     and checks that every acknowledged batch is in the store;
#  4. freshness: a moves batch posted to replica A; the time from its
#     answer (the commit) until replica B serves that data version.
#
# Loopback only. Needs a release build, PostgreSQL (psql, the server at
# PGURL), nginx and wrk (apt-get install nginx-light wrk).
#
#   scripts/replicas.sh [TALENTS] [DURATION_SECONDS]
#
# IMPORT_ONLY=1 stops after the import and snapshot build timings.
set -euo pipefail
cd "$(dirname "$0")/.."
TALENTS=${1:-100000}
DURATION=${2:-20}
WORK=${WORK:-/tmp/talentmap-replicas}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=talentmap_replicas
STORE="$PGURL/$DB"
BIN=$PWD/target/release/talentmap
PORT_LB=18180 PORT_A=18181 PORT_B=18182
mkdir -p "$WORK"
cargo build --release --quiet

A= B= NGINX=
cleanup() {
  for p in $A $B $NGINX; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "### import: $TALENTS talents, PostgreSQL beside SQLite"
rm -rf "$WORK/files" "$WORK/lite" "$WORK/a" "$WORK/b"
"$BIN" generate --out "$WORK/files" --talents "$TALENTS" --enterprises $((TALENTS / 20)) >/dev/null
psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
for k in regions enterprises stations vacancies talents moves; do
  f=$(ls "$WORK/files/$k".* | head -1)
  t0=$(date +%s.%N)
  "$BIN" import "$k" "$f" --data "$WORK/a" --store "$STORE" >/dev/null
  t1=$(date +%s.%N)
  "$BIN" import "$k" "$f" --data "$WORK/lite" >/dev/null
  t2=$(date +%s.%N)
  printf '%-12s PostgreSQL %6.2f s   SQLite %6.2f s\n' "$k" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
done

# serve NAME PORT [args]: a replica on the PostgreSQL store with its own
# data directory; waits for /health; prints seconds to ready.
serve() {
  local name=$1 port=$2; shift 2
  local t0 t1 pid
  t0=$(date +%s.%N)
  "$BIN" serve --addr 127.0.0.1:"$port" --data "$WORK/$name" --store "$STORE" --web /nonexistent --rate-limit 0 \
    --reload-secs 5 "$@" >>"$WORK/$name.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
    kill -0 $pid 2>/dev/null || { tail -20 "$WORK/$name.log"; exit 1; }
    sleep 0.02
  done
  t1=$(date +%s.%N)
  printf '%s: ready after %.2f s, %d MiB resident\n' "$name${*:+ $*}" "$(echo "$t1 - $t0" | bc)" \
    "$(( $(awk '/VmRSS/{print $2}' /proc/$pid/status) / 1024 ))" >&2
  echo $pid
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

echo "### snapshot build (start without a saved snapshot), same city"
t0=$(date +%s.%N)
"$BIN" serve --addr 127.0.0.1:$PORT_A --data "$WORK/lite" --web /nonexistent --no-saved-snapshot >"$WORK/lite.log" 2>&1 &
L=$!
until curl -sf "http://127.0.0.1:$PORT_A/health" >/dev/null; do sleep 0.02; done
printf 'SQLite store: ready after %.2f s\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
stop $L
A=$(serve a $PORT_A --no-saved-snapshot); stop "$A"; A=
[ -n "${IMPORT_ONLY:-}" ] && exit 0

echo "### replicas"
A=$(serve a $PORT_A)
B=$(serve b $PORT_B)
KEY=$("$BIN" keys create --role feeder --name replicas --data "$WORK/a" --store "$STORE" | tail -1)

mkdir -p "$WORK/nginx-tmp"
cat > "$WORK/nginx.conf" <<NGX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-tmp; proxy_temp_path $WORK/nginx-tmp;
  fastcgi_temp_path $WORK/nginx-tmp; uwsgi_temp_path $WORK/nginx-tmp; scgi_temp_path $WORK/nginx-tmp;
  upstream talentmap {
    server 127.0.0.1:$PORT_A max_fails=1 fail_timeout=2s;
    server 127.0.0.1:$PORT_B max_fails=1 fail_timeout=2s;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$PORT_LB;
    location / {
      proxy_pass http://talentmap;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 1s;
    }
  }
}
NGX
nginx -c "$WORK/nginx.conf" -g 'daemon off;' &
NGINX=$!
sleep 0.5

python3 - "$WORK" <<'PY'
import math, sys
work = sys.argv[1]
def tile(lon, lat, z):
    n = 2 ** z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
urls = []
for z in range(9, 15):
    x0, y0 = tile(116.85, 36.75, z)
    x1, y1 = tile(117.25, 36.55, z)
    cells = [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    for x, y in cells[:: max(1, len(cells) // 40)]:
        for layer in ("talents", "vacancies", "enterprises"):
            urls.append(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
open(f"{work}/urls.txt", "w").write("\n".join(urls) + "\n")
PY
cat > "$WORK/urls.lua" <<LUA
local urls = {}
for line in io.lines("$WORK/urls.txt") do urls[#urls + 1] = line end
local i = 0
local headers = { ["Accept-Encoding"] = "gzip" }
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i], headers)
end
LUA
warm() { while read -r u; do curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$1$u" -o /dev/null; done < "$WORK/urls.txt"; }
warm $PORT_A; warm $PORT_B
run() { # run LABEL PORT SECONDS
  wrk -t2 -c64 -d"$3"s -s "$WORK/urls.lua" --latency "http://127.0.0.1:$2" >"$WORK/wrk.out" || true
  printf "%-44s %s\n" "$1" "$(grep -E "Requests/sec|^ +99%|Non-2xx|Socket errors" "$WORK/wrk.out" | tr -s ' ' | paste -sd' ' -)"
}
echo "### throughput (warm tiles, 64 connections)"
run "one replica, direct" $PORT_A "$DURATION"
stop "$B"; B=
sleep 2.5
run "through nginx, one replica up" $PORT_LB "$DURATION"
B=$(serve b $PORT_B); warm $PORT_B
run "through nginx, two replicas" $PORT_LB "$DURATION"

echo "### replica B killed (SIGKILL) and started again under load; batches posted through nginx"
python3 - "$WORK" "$TALENTS" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
ids = [l.split(",")[0] for l in open(f"{work}/files/talents.csv").read().splitlines()[1:]]
firms = [l.split(",")[0] for l in open(f"{work}/files/enterprises.csv").read().splitlines()[1:]]
for b in range(400):
    moves = []
    for i in range(50):
        t = ids[(b * 50 + i) * 7919 % len(ids)]
        moves.append({"id": f"K{b}_{i}", "talent_id": t, "date": "2026-11-28", "event": "job_change",
                      "to_lon": 117.05, "to_lat": 36.66, "to_enterprise_id": firms[(b + i) % len(firms)]})
    open(f"{work}/batch{b}.json", "w").write(json.dumps({"moves": moves}))
PY
(
  acked=0 refused=0
  for b in $(seq 0 399); do
    code=$(curl -s -o "$WORK/post.out" -w '%{http_code}' -H "Authorization: Bearer ${KEY#Bearer }" \
      -H 'Content-Type: application/json' --data-binary @"$WORK/batch$b.json" "http://127.0.0.1:$PORT_LB/api/moves")
    if [ "$code" = 200 ]; then acked=$((acked + 1)); echo "$b" >> "$WORK/acked"; else refused=$((refused + 1)); fi
    [ -f "$WORK/stop-posting" ] && break
    sleep 0.05
  done
  echo "$acked $refused" > "$WORK/posted"
) &
POSTER=$!
rm -f "$WORK/acked" "$WORK/stop-posting"
( sleep $((DURATION / 3)); kill -9 "$B"; sleep $((DURATION / 3)); serve b $PORT_B > "$WORK/b.pid" ) &
RESTART=$!
run "through nginx, B killed and restarted" $PORT_LB "$DURATION"
wait $RESTART; B=$(cat "$WORK/b.pid")
touch "$WORK/stop-posting"; wait $POSTER
read -r acked refused < "$WORK/posted"
stored=$(psql -tA "$STORE" -c "SELECT count(DISTINCT split_part(id, '_', 1)) FROM moves WHERE id LIKE 'K%'")
echo "moves batches: $acked acknowledged, $refused refused; batches in the store: $stored"
[ "$stored" -ge "$acked" ] || { echo "an acknowledged batch is missing" >&2; exit 1; }

echo "### freshness: a batch posted to A, until B serves its data version"
python3 - "$WORK" "$PORT_A" "$PORT_B" "$KEY" <<'PY'
import json, sys, time, urllib.request
work, a, b, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
key = key if key.startswith("Bearer ") else "Bearer " + key
def version(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats") as r:
        return json.load(r)["version"]
times = []
for n in range(5):
    body = open(f"{work}/batch{399 - n}.json").read().replace('"K', '"F')
    req = urllib.request.Request(f"http://127.0.0.1:{a}/api/moves", data=body.encode(), method="POST",
                                 headers={"Authorization": key, "Content-Type": "application/json"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req) as r:
        v = json.load(r)["version"]
    answered = time.monotonic()
    while version(b) < v:
        time.sleep(0.005)
    times.append((answered - t0, time.monotonic() - answered))
    time.sleep(1)
for post, follow in times:
    print(f"batch of 50 answered by A in {post * 1000:.0f} ms; B serving it {follow * 1000:.0f} ms after the answer")
PY
