#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads outside data, on the stable toolchain.
#
#   bash shared/fuzz/run.sh [BUDGET] [TARGET...]
#
# BUDGET is seconds per target (`60s`, the default) or executions per target (`1000000`, a bare
# number). With no TARGET every target runs, one after another. Each run starts from the committed
# corpus (shared/fuzz-targets/corpus/<target>/); inputs libFuzzer finds that add coverage go to a
# scratch corpus under the target directory, never into the repository (minimize and copy by hand,
# see below). A crash stops the script with libFuzzer's report and leaves the input in
# $FUZZ_TARGET_DIR/artifacts/<target>/.
#
# Build: libFuzzer (compiled from C++ by the `libfuzzer-sys` crate) plus rustc's stable
# SanitizerCoverage codegen flags (no -Z flags, no nightly): inline 8-bit counters and a PC table
# for coverage, compare tracing for value profiles, and `--cfg fuzzing`. `--target` keeps the flags
# off build scripts and proc macros. Its own target directory ($FUZZ_TARGET_DIR, default
# /work/fuzz-target, else target/ under this folder) so the ordinary build cache is never touched.
#
# Minimize a scratch corpus into the committed one:
#   $FUZZ_TARGET_DIR/x86_64-unknown-linux-gnu/release/<target> -merge=1 \
#       shared/fuzz-targets/corpus/<target> $FUZZ_TARGET_DIR/scratch/<target>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus_root="$(cd "$here/../fuzz-targets/corpus" && pwd)"
budget="${1:-60s}"
shift || true

if [[ -z "${FUZZ_TARGET_DIR:-}" ]]; then
    if [[ -d /work ]]; then FUZZ_TARGET_DIR=/work/fuzz-target; else FUZZ_TARGET_DIR="$here/target"; fi
fi
export CARGO_TARGET_DIR="$FUZZ_TARGET_DIR"
triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$here/Cargo.toml" | grep -v '^ae-fuzz-bins$')
fi

echo "fuzz: building ${#targets[@]} target(s) into $FUZZ_TARGET_DIR (release, debug assertions and overflow checks on)"
bin_args=()
for t in "${targets[@]}"; do bin_args+=(--bin "$t"); done
cargo build --manifest-path "$here/Cargo.toml" --release --target "$triple" "${bin_args[@]}"

case "$budget" in
    *s) limit=(-max_total_time="${budget%s}") ;;
    *) limit=(-runs="$budget") ;;
esac

total=0
summary=()
for t in "${targets[@]}"; do
    bin="$FUZZ_TARGET_DIR/$triple/release/$t"
    scratch="$FUZZ_TARGET_DIR/scratch/$t"
    artifacts="$FUZZ_TARGET_DIR/artifacts/$t"
    mkdir -p "$scratch" "$artifacts" "$corpus_root/$t"
    log="$FUZZ_TARGET_DIR/logs/$t.log"
    mkdir -p "$(dirname "$log")"
    echo "fuzz: $t (${limit[*]})"
    status=0
    "$bin" "${limit[@]}" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$scratch" "$corpus_root/$t" >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    cov="$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*\(cov: [0-9]*\) \(ft: [0-9]*\).*/\1 \2/p')"
    if [[ $status -ne 0 ]]; then
        tail -60 "$log"
        echo "fuzz: $t FAILED (exit $status); input and report in $artifacts/ and $log"
        exit 1
    fi
    runs="${runs:-0}"
    total=$((total + runs))
    summary+=("$(printf '%-24s %12s executions  %s' "$t" "$runs" "$cov")")
    echo "fuzz: $t: $runs executions, $cov"
done

echo "fuzz: summary (0 crashes)"
printf '  %s\n' "${summary[@]}"
echo "fuzz: total $total executions over ${#targets[@]} target(s)"
