#!/usr/bin/env bash
# Long fuzz run: every cargo-fuzz target in turn until it has FUZZ_LONG_RUNS executions
# (default 10,000,000) on record, each sitting capped at FUZZ_LONG_MAX_SECONDS (default
# 14400, 4 h; 0 = no limit), on one core under `nice -n 19`. Each target's libFuzzer output
# goes to fuzz/runs/<target>.log (git-ignored); every sitting appends one line to the
# ledger fuzz/runs/ledger.tsv (committed), and fuzz/runs/SUMMARY.md (committed) is
# rewritten after every target with this run's rows and each target's total on record.
#
#   nohup scripts/fuzz-long.sh > fuzz/runs/fuzz-long.out 2>&1 &
#   FUZZ_LONG_TARGETS="spec decompress" scripts/fuzz-long.sh
#   FUZZ_LONG_FRESH=1 scripts/fuzz-long.sh    # ignore the ledger: FUZZ_LONG_RUNS again
#
# Resuming: a sitting runs only what the target still lacks of FUZZ_LONG_RUNS, counting
# the clean sittings in the ledger since the target's source last changed (the ledger
# records a hash of fuzz/fuzz_targets and src at each sitting; a sitting on other code
# does not count). The corpus each sitting grows is fuzz/corpus/<target> (git-ignored;
# the committed seeds in fuzz/seeds/<target> are read too), so the next sitting starts
# from all the coverage the earlier ones found, as one run stopped and restarted would.
# A sitting that crashes stops the count: its input is in fuzz/artifacts/<target>/.
#
# Build: ASan with debug assertions (`-a`), as scripts/fuzz-smoke.sh, with comparison
# tracing only in this repository's crates (scripts/fuzz-rustc-wrapper.sh says why).
# Targets in FUZZ_LONG_NO_ASAN (default: mb_lanes) are built without a sanitizer and
# without comparison tracing (`-s none --no-trace-compares`, debug assertions kept) into
# their own target dir: mb_lanes is arithmetic on bounds-checked Rust slices shaped by
# `%`-reduced input bytes, where neither ASan nor comparison operands guide anything the
# debug assertions and the three-way comparison miss (fuzz/README.md, "Runs").
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${FUZZ_LONG_RUNS:-10000000}
max_secs=${FUZZ_LONG_MAX_SECONDS:-14400}
no_asan=" ${FUZZ_LONG_NO_ASAN-mb_lanes} "
export RUSTC_BOOTSTRAP=1
RUSTC_WRAPPER=$(pwd -P)/scripts/fuzz-rustc-wrapper.sh
export RUSTC_WRAPPER
out=fuzz/runs
ledger=$out/ledger.tsv
mkdir -p "$out"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-long: cargo fuzz is missing; installing it: cargo install cargo-fuzz --locked"
    cargo install cargo-fuzz --locked || exit 2
fi

if [ -n "${FUZZ_LONG_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_LONG_TARGETS"
else
    mapfile -t targets < <(cargo fuzz list)
fi

# One core, lowest priority: the build too.
CARGO_BUILD_JOBS=1 nice -n 19 cargo fuzz build -a || exit 2
for t in $no_asan; do
    CARGO_BUILD_JOBS=1 nice -n 19 cargo fuzz build -a -s none --no-trace-compares \
        --target-dir fuzz/target-noasan "$t" || exit 2
done

summary=$out/SUMMARY.md
rows=()
write_summary() {
    {
        echo "# Long fuzz runs"
        echo
        echo "Written by \`scripts/fuzz-long.sh\` (FUZZ_LONG_RUNS=$runs, FUZZ_LONG_MAX_SECONDS=$max_secs,"
        echo "one core, \`nice -n 19\`, $(nproc)-core $(uname -m) machine, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src fuzz || echo ' + uncommitted changes'))."
        echo "Full libFuzzer output: \`fuzz/runs/<target>.log\`."
        echo
        echo "| target | build | execs | execs/s | cov | ft | corpus | seconds | result | started (UTC) |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${rows[@]}"
        echo
        echo "On record (fuzz/runs/ledger.tsv): clean executions per target on its current source,"
        echo "summed over sittings that each resumed the last one's corpus."
        echo
        echo "| target | executions on record | sittings | goal met |"
        echo "|---|---|---|---|"
        local target n k
        for target in "${targets[@]}"; do
            read -r n k < <(on_record "$target")
            echo "| $target | $n | $k | $([ "$n" -ge "$runs" ] && echo yes || echo no) |"
        done
    } >"$summary"
}

# The hash of a target's source: the target file, the shared fixtures and the crate.
source_hash() {
    cat "fuzz/fuzz_targets/$1.rs" fuzz/fuzz_targets/common/*.rs fuzz/Cargo.toml \
        $(git ls-files src) | sha256sum | cut -c1-12
}

# "executions sittings" on record for a target's current source, clean sittings since
# the last crash only.
on_record() {
    local h
    h=$(source_hash "$1")
    [ -f "$ledger" ] || { echo "0 0"; return; }
    awk -F'\t' -v t="$1" -v h="$h" '
        $2 == t && $3 == h { if ($6 == "ok") { n += $5; k++ } else { n = 0; k = 0 } }
        END { print n + 0, k + 0 }' "$ledger"
}

[ -f "$ledger" ] || printf 'started_utc\ttarget\tsource\tbuild\texecs\tresult\tseconds\tcommit\n' >"$ledger"

for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log=$out/$t.log
    build=(-a)
    label="ASan, -a"
    case $no_asan in *" $t "*) build=(-a -s none --no-trace-compares --target-dir fuzz/target-noasan); label="no sanitizer, -a" ;; esac
    todo=$runs
    if [ -z "${FUZZ_LONG_FRESH:-}" ]; then
        read -r have _ < <(on_record "$t")
        todo=$((runs - have))
        if [ "$todo" -le 0 ]; then
            echo "fuzz-long: $t: $have executions on record, goal met"
            continue
        fi
    fi
    started=$(date -u '+%Y-%m-%d %H:%M')
    # The source the binary is built from, taken before the sitting: an edit during it
    # must not credit these executions to the edited code.
    source=$(source_hash "$t")
    t0=$(date +%s)
    rc=0
    nice -n 19 cargo fuzz run "${build[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -runs="$todo" -max_total_time="$max_secs" -timeout=60 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - t0))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    if [ $rc -ne 0 ]; then
        result="CRASH or error (rc $rc; see fuzz/artifacts/$t/)"
    elif [ "${execs:-0}" -ge "$todo" ] 2>/dev/null; then
        result="no crash (all $todo runs)"
    else
        result="no crash (time limit)"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$started" "$t" "$source" "$label" \
        "${execs:-0}" "$([ $rc -eq 0 ] && echo ok || echo "crash rc $rc")" "$secs" \
        "$(git rev-parse --short HEAD)" >>"$ledger"
    rows+=("| $t | $label | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $secs | $result | $started |")
    write_summary
    echo "fuzz-long: $t: ${execs:-?} execs in $secs s, $result"
done
echo "fuzz-long: done; $summary"
