#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ and runs each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; TARGET defaults to every target. Exits 1
# when any target crashes (a panic, a failed check, a timeout or running out
# of memory; the input is saved under fuzz/artifacts/TARGET/), 2 when the
# tools are missing or the build fails. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); on a stable toolchain the sanitizer flags are
# unlocked with RUSTC_BOOTSTRAP=1. Not part of `cargo test` or CI: see
# docs/fuzzing.md.
#
# Environment: FUZZ_SANITIZER (default none; address needs more time and
# memory), FUZZ_JOBS (cargo build jobs), FUZZ_RSS_MB (default 2048).
set -euo pipefail

seconds="${1:-60}"
shift || true
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
fi
if ! rustc --version | grep -q nightly; then
  export RUSTC_BOOTSTRAP=1
fi

sanitizer="${FUZZ_SANITIZER:-none}"
build_args=(--sanitizer "$sanitizer" --debug-assertions)
if [ -n "${FUZZ_JOBS:-}" ]; then
  export CARGO_BUILD_JOBS="$FUZZ_JOBS"
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "building ${#targets[@]} fuzz targets (sanitizer $sanitizer)"
cargo fuzz build "${build_args[@]}" || exit 2

dict_of() {
  case "$1" in
    csv_*) echo fuzz/dict/csv.dict ;;
    moves_body | regions_geojson) echo fuzz/dict/json.dict ;;
    filter_query) echo fuzz/dict/query.dict ;;
    *) echo "" ;;
  esac
}

logs="fuzz/logs"
mkdir -p "$logs"
failed=()
printf '%-18s %12s %10s  %s\n' target executions exec/s result > "$logs/summary.txt"
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  seeds=()
  [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
  dict="$(dict_of "$target")"
  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -print_final_stats=1
         -artifact_prefix="fuzz/artifacts/$target/")
  [ -n "$dict" ] && flags+=(-dict="$dict")
  echo "== $target: ${seconds}s"
  result=ok
  if ! cargo fuzz run "${build_args[@]}" "$target" "fuzz/corpus/$target" "${seeds[@]}" -- "${flags[@]}" \
      > "$logs/$target.log" 2>&1; then
    result=CRASH
    failed+=("$target")
    tail -n 40 "$logs/$target.log" >&2
  fi
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$target.log" | grep -o '[0-9]*$' | tail -n1 || true)"
  rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$logs/$target.log" | grep -o '[0-9]*$' | tail -n1 || true)"
  printf '%-18s %12s %10s  %s\n' "$target" "${runs:-?}" "${rate:-?}" "$result" | tee -a "$logs/summary.txt"
done

echo
cat "$logs/summary.txt"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/, logs in $logs/)" >&2
  exit 1
fi
