# Sourced by the checks that run a server on a small demo city: sets WORK
# (a temporary folder removed on exit) and defines start_demo_server, which
# starts `BIN serve` on WORK/data (3,000 demo talents, loopback, no rate
# limit; extra arguments are passed on), sets SERVER and waits for /health.
WORK=$(mktemp -d)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_demo_server BIN PORT [SERVE ARGS…]
start_demo_server() {
  local bin=$1 port=$2
  shift 2
  "$bin" serve --addr "127.0.0.1:$port" --data "$WORK/data" --demo-talents 3000 --web /nonexistent \
    --rate-limit 0 "$@" >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.5
  done
  echo "the server did not answer /health in 120 s"; tail -n 40 "$WORK/server.log"; exit 1
}
