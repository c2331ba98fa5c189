#!/usr/bin/env bash
# Long fuzz run: every cargo-fuzz target in turn, each for FUZZ_LONG_RUNS executions
# (default 10,000,000) or FUZZ_LONG_MAX_SECONDS (default 14400, 4 h; 0 = no limit),
# whichever comes first, on one core under `nice -n 19`. Each target's libFuzzer output
# goes to fuzz/runs/<target>.log (git-ignored), its final figures (executions, coverage,
# result, seconds) to the table fuzz/runs/SUMMARY.md, rewritten after every target.
#
#   nohup scripts/fuzz-long.sh > fuzz/runs/fuzz-long.out 2>&1 &
#   FUZZ_LONG_TARGETS="spec decompress" scripts/fuzz-long.sh
#
# The corpus each run grows is fuzz/corpus/<target> (git-ignored; the committed seeds in
# fuzz/seeds/<target> are read too), so a second long run starts where the first stopped.
# Build: ASan with debug assertions (`-a`), as scripts/fuzz-smoke.sh, except the targets
# in FUZZ_LONG_NO_ASAN (default: mb_lanes), built without a sanitizer (`-s none`, debug
# assertions kept) into their own target dir: mb_lanes is pure arithmetic on
# bounds-checked Rust slices, where ASan finds nothing the debug assertions and the
# comparisons miss, and it runs several times faster without it (fuzz/README.md, "Runs").
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${FUZZ_LONG_RUNS:-10000000}
max_secs=${FUZZ_LONG_MAX_SECONDS:-14400}
no_asan=" ${FUZZ_LONG_NO_ASAN-mb_lanes} "
export RUSTC_BOOTSTRAP=1
out=fuzz/runs
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
    CARGO_BUILD_JOBS=1 nice -n 19 cargo fuzz build -a -s none --target-dir fuzz/target-noasan "$t" || exit 2
done

summary=$out/SUMMARY.md
rows=()
write_summary() {
    {
        echo "# Long fuzz runs"
        echo
        echo "Written by \`scripts/fuzz-long.sh\` (FUZZ_LONG_RUNS=$runs, FUZZ_LONG_MAX_SECONDS=$max_secs,"
        echo "one core, \`nice -n 19\`, $(nproc)-core $(uname -m) machine, commit $(git rev-parse --short HEAD)"
        echo "$(git diff --quiet HEAD -- src fuzz || echo '+ uncommitted changes'))."
        echo "Full libFuzzer output: \`fuzz/runs/<target>.log\`."
        echo
        echo "| target | build | execs | execs/s | cov | ft | corpus | seconds | result | started (UTC) |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${rows[@]}"
    } >"$summary"
}

for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log=$out/$t.log
    build=(-a)
    label="ASan, -a"
    case $no_asan in *" $t "*) build=(-a -s none --target-dir fuzz/target-noasan); label="no sanitizer, -a" ;; esac
    started=$(date -u '+%Y-%m-%d %H:%M')
    t0=$(date +%s)
    rc=0
    nice -n 19 cargo fuzz run "${build[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -runs="$runs" -max_total_time="$max_secs" -timeout=60 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - t0))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    if [ $rc -ne 0 ]; then
        result="CRASH or error (rc $rc; see fuzz/artifacts/$t/)"
    elif [ "${execs:-0}" -ge "$runs" ] 2>/dev/null; then
        result="no crash (all $runs runs)"
    else
        result="no crash (time limit)"
    fi
    rows+=("| $t | $label | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $secs | $result | $started |")
    write_summary
    echo "fuzz-long: $t: ${execs:-?} execs in $secs s, $result"
done
echo "fuzz-long: done; $summary"
