#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target (fuzz/Cargo.toml) and runs each one for a
# short bounded time with its committed seeds (fuzz/seeds/<target>), one after the other.
# Exits non-zero if any target crashes, leaks, times out on an input or fails to start;
# prints each target's executions, coverage and result.
#
#   scripts/fuzz-smoke.sh                   # 15 s per target
#   FUZZ_SMOKE_SECONDS=60 scripts/fuzz-smoke.sh
#   FUZZ_SMOKE_SEED=0 scripts/fuzz-smoke.sh  # a new random seed each run
#
# libFuzzer's seed is fixed (FUZZ_SMOKE_SEED, default 1), so every run of a commit tries
# the same mutations in the same order, a slower machine only a shorter prefix of them:
# a CI failure reproduces on a developer's machine, and CI does not turn red at random
# on code that did not change. New inputs are the long runs' job (scripts/fuzz-long.sh).
# On a failure the input is printed in base64 as well, since a CI machine's
# fuzz/artifacts/ are gone with it.
#
# Why a script and not a test: libFuzzer needs cargo-fuzz's instrumented build (ASan,
# sanitizer coverage), which `cargo test` cannot give. Installs nothing, except cargo-fuzz
# itself when `cargo fuzz` is missing (`cargo install cargo-fuzz --locked`). Only a
# stable toolchain is needed: RUSTC_BOOTSTRAP=1 unlocks cargo-fuzz's -Z flags.
#
# Every target is built with debug assertions (`-a`): an arithmetic overflow or a broken
# invariant panics, so it is a crash too (mb_lanes relies on it, see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SMOKE_SECONDS:-15}
case $secs in '' | *[!0-9]*) echo "FUZZ_SMOKE_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac
seed=${FUZZ_SMOKE_SEED:-1}
case $seed in '' | *[!0-9]*) echo "FUZZ_SMOKE_SEED must be a whole number (0: random)" >&2; exit 2 ;; esac
export RUSTC_BOOTSTRAP=1
# Comparison tracing only in this repository's crates (the script says why).
RUSTC_WRAPPER=$(pwd -P)/scripts/fuzz-rustc-wrapper.sh
export RUSTC_WRAPPER

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: cargo fuzz is missing; installing it: cargo install cargo-fuzz --locked"
    cargo install cargo-fuzz --locked
fi

start=$(date +%s)
mapfile -t targets < <(cargo fuzz list)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz-smoke: no targets" >&2; exit 2; }
echo "fuzz-smoke: building ${#targets[@]} targets (ASan, debug assertions)"
cargo fuzz build -a
built=$(date +%s)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
printf '\n%-14s %12s %8s %8s %8s  %s\n' target execs execs/s cov ft result
for t in "${targets[@]}"; do
    seeds=fuzz/seeds/$t
    mkdir -p "$work/$t" "fuzz/artifacts/$t"
    [ -d "$seeds" ] || { echo "fuzz-smoke: $t has no seeds ($seeds)" >&2; failed+=("$t"); continue; }
    log=$work/$t.log
    rc=0
    # -timeout: one input running 60 s is a hang; -rss_limit_mb: a bigger process is a
    # leak or a bomb. Both are failures (libFuzzer exits non-zero and writes the input to
    # fuzz/artifacts/<target>/).
    cargo fuzz run -a "$t" "$work/$t" "$seeds" -- \
        -max_total_time="$secs" -seed="$seed" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    if [ $rc -eq 0 ]; then
        result=ok
    else
        result="FAILED (rc $rc)"
        failed+=("$t")
    fi
    printf '%-14s %12s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result"
    if [ $rc -ne 0 ]; then
        echo "---- $t: last lines of libFuzzer's output ----"
        grep -vE '^#[0-9]+' "$log" | tail -40
        echo "---- (artifacts in fuzz/artifacts/$t/) ----"
        # The failing input itself, so a failure on a CI machine reproduces anywhere:
        #   base64 -d > crash <<< '...'; cargo fuzz run -a $t crash
        for a in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
            [ -f "$a" ] || continue
            echo "---- $a, $(stat -c %s "$a") bytes, base64: ----"
            head -c 65536 "$a" | base64 -w 0
            echo
        done
    fi
done
end=$(date +%s)
echo
echo "fuzz-smoke: build $((built - start)) s, runs $((end - built)) s, total $((end - start)) s (${secs} s per target, seed $seed)"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz-smoke: all ${#targets[@]} targets ok"
