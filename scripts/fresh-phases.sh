#!/usr/bin/env bash
# Where a feed batch's answer time goes: runs examples/flows_scale.rs with
# the debug log of the store and the snapshot on, prints its report's batch
# lines, then each phase of every new batch — validation, the replay of the
# touched talents, the writes, the commit, and beside them the snapshot
# patch, the flow cubes, the move table and the talent pyramid — as the first
# batch, then the p50 and max of the others, in ms.
#
#   scripts/fresh-phases.sh --store DIR --batches 20 --spread 1 --pool 20000 --daily 0
#
# Every argument goes to the example (see its header). The whole log is kept
# in ${LOG:-/tmp/talentmap-fresh-phases.log}. EXAMPLE names another build of the
# example to run (a baseline, for an A/B in one sitting). Needs a release build of the
# example (cargo build --release --example flows_scale).
set -euo pipefail
cd "$(dirname "$0")/.."
LOG=${LOG:-/tmp/talentmap-fresh-phases.log}
RUST_LOG=talentmap=debug MIMALLOC_PURGE_DELAY=0 NO_COLOR=1 "${EXAMPLE:-target/release/examples/flows_scale}" "$@" > "$LOG" 2>&1 ||
  { tail -n 20 "$LOG"; exit 1; }
grep -E "^\| (new|retried) batch|more than 1 s|the first batch" "$LOG"
python3 - "$LOG" <<'PY'
import re, sys
# The debug lines of one stored batch, in the order they are logged.
events = {
    "moves batch stored": "store",
    "snapshot patched": "snapshot patch",
    "flows patched": "flow cubes",
    "move table patched": "move table",
}
batches = {name: [] for name in [*events.values(), "talent pyramid"]}
strip = re.compile(r"\x1b\[[0-9;]*m")
stored = False
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = strip.sub("", line)
    stored |= "moves batch stored" in line
    # The pyramid of each patched snapshot (not the one built at start).
    if stored and "talent pyramid built" in line:
        found = re.search(r"ms=(\d+)", line)
        if found:
            batches["talent pyramid"].append({"built": int(found.group(1))})
    for event, name in events.items():
        if event in line and "phases=" in line:
            found = re.findall(r"([a-z][a-z ]*?) (\d+) ms", line.split("phases=", 1)[1])
            batches[name].append({phase.strip(): int(ms) for phase, ms in found})
print("| where | phase | first batch | others p50 | others max | batches |")
print("|---|---|---|---|---|---|")
for name, rows in batches.items():
    # Phases in the order they first appear (some, such as the wait for the
    # checkpoint, only in some batches).
    order = list(dict.fromkeys(phase for row in rows for phase in row))
    for phase in order:
        first = rows[0].get(phase, "–")
        rest = sorted(row[phase] for row in rows[1:] if phase in row)
        p50 = rest[len(rest) // 2] if rest else "–"
        top = rest[-1] if rest else "–"
        print(f"| {name} | {phase} | {first} | {p50} | {top} | {sum(phase in row for row in rows)} |")
PY
