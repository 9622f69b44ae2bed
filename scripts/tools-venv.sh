#!/usr/bin/env bash
# Makes sure tests/contract/.venv holds the pinned Python tools of
# tests/contract/requirements.txt (the checks that look at the service and
# its exports from outside) and prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=tests/contract/.venv
if [ ! -x "$VENV/bin/python" ] || ! cmp -s tests/contract/requirements.txt "$VENV/requirements.txt"; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/contract/requirements.txt >&2
  cp tests/contract/requirements.txt "$VENV/requirements.txt"
fi
echo "$VENV"
