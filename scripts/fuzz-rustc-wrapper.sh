#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz builds: comparison tracing only in this repository's crates.
#
# cargo-fuzz passes -Cllvm-args=-sanitizer-coverage-trace-compares to every crate, so each
# integer comparison anywhere calls into libFuzzer. In the targets that do RSA (backend_diff,
# mb_lanes, whole_item) most of the time went there: perf on backend_diff put 68% of it in
# __sanitizer_cov_trace_cmp8 / _const_cmp1 called from num-bigint's and num-bigint-dig's
# Montgomery loops, where a comparison's operands are limb values that no input byte steers.
# This wrapper drops that one flag for crates outside the repository (cargo's
# CARGO_MANIFEST_DIR names the crate being compiled). Everything else is kept for every
# crate: edge coverage (so a new path in a dependency is still new coverage), ASan, debug
# assertions. Our own crates (trustbench and the targets) keep comparison tracing, which
# is what finds the magic values in our parsers.
#
# Used by scripts/fuzz-smoke.sh and scripts/fuzz-long.sh:
#   RUSTC_WRAPPER=scripts/fuzz-rustc-wrapper.sh cargo fuzz build -a
set -euo pipefail
rustc=$1
shift
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
dir=$(cd "${CARGO_MANIFEST_DIR:-/}" 2>/dev/null && pwd -P || echo /)
case $dir in
"$repo" | "$repo"/*) exec "$rustc" "$@" ;;
esac
args=()
for a in "$@"; do
    [ "$a" = "-Cllvm-args=-sanitizer-coverage-trace-compares" ] || args+=("$a")
done
exec "$rustc" "${args[@]}"
