#!/usr/bin/env bash
# Contract test: the server, run on a small generated city, is checked from
# outside against its own /openapi.json.
#   1. openapi-spec-validator: the document is valid OpenAPI 3.1;
#   2. schemathesis: property-based requests to every operation; fails on any
#      5xx, on a response whose status is not documented, or on a body that
#      does not match its documented schema or content type.
# Requests carry an admin key, so every operation's handler is reached (the
# 401/403 answers of every role are checked by tests/access.rs). One worker:
# Python 3.11's parser is not safe against concurrent use by hypothesis.
# Bounded: a fixed seed, a fixed number of examples per operation and a time
# budget; loopback only. Tools are pinned in tests/contract/requirements.txt
# and installed into tests/contract/.venv by scripts/tools-venv.sh.
#
#   scripts/contract.sh [BIN] [EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug/talentmap}
EXAMPLES=${2:-${CONTRACT_EXAMPLES:-20}}
PORT=${CONTRACT_PORT:-18090}
VENV=tests/contract/.venv
. scripts/demo-server.sh
scripts/tools-venv.sh >/dev/null

"$BIN" keys create --role admin --name contract --data "$WORK/data" >"$WORK/key.txt"
KEY=$(tail -n 1 "$WORK/key.txt")
# shellcheck disable=SC2086 # extra serve arguments are words
start_demo_server "$BIN" "$PORT" ${CONTRACT_SERVE_ARGS:-}

curl -sf "http://127.0.0.1:$PORT/openapi.json" -o "$WORK/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json"

status=0
"$VENV/bin/st" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --seed 20261201 --no-color --workers 1 \
  --request-timeout 30 --header "Authorization: Bearer $KEY" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 40 lines) ---"
  tail -n 40 "$WORK/server.log"
fi
exit "$status"
