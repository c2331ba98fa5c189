#!/bin/sh
# trustbench verify against evmctl ima_verify on the same files, whole process, at equal
# cores (1 and 2, pinned with taskset), the commands interleaved round by round in one run
# (hyperfine runs each command's repetitions back to back, so drift on a shared machine
# would land on one side), medians and the ratio evmctl ÷ trustbench printed.
#
#   scripts/evmctl-peer.sh [CORPUS_DIR]
#
# CORPUS_DIR defaults to target/evmctl-peer, generated from corpora/evmctl-peer.toml
# (20,000 4 KiB RSA-2048 files with evmctl-format .sig sidecars) when missing. Needs
# evmctl and taskset (Debian: ima-evm-utils, util-linux). RUNS (default 10) sets the
# rounds, BACKEND a --backend for trustbench (default: the default backend), SOURCE its
# --ima-source (default sidecar, what evmctl --sigfile reads). A
# two-core evmctl run is two evmctl processes, each given half of the files (evmctl has
# no threads); trustbench gets both cores with --threads 2.
set -eu
cd "$(dirname "$0")/.."
TB=${TB:-$PWD/target/release/trustbench}
DIR=${1:-target/evmctl-peer}
BACKEND=${BACKEND:-}
for t in evmctl taskset; do
    command -v "$t" >/dev/null || { echo "evmctl-peer: $t is not installed" >&2; exit 2; }
done
[ -x "$TB" ] || cargo build --release
[ -f "$DIR/COMPLETE" ] || "$TB" gen --spec corpora/evmctl-peer.toml --out "$DIR"
DIR=$(cd "$DIR" && pwd)
CERT=$DIR/certs/imasign0.der
cd "$DIR/files"
ls -- *.bin >../all.txt
n=$(wc -l <../all.txt)
head -n $((n / 2)) ../all.txt >../half1.txt
tail -n +$((n / 2 + 1)) ../all.txt >../half2.txt
# `evmctl ima_verify --sigfile` reads each FILE.sig and never security.ima, so trustbench
# is asked for the same work: the sidecar only (its default, auto, would first ask each
# file for security.ima).
opt="--ima-source ${SOURCE:-sidecar}"
[ -n "$BACKEND" ] && opt="$opt --backend $BACKEND"
echo "evmctl-peer: $n files, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)," \
    "trustbench backend: ${BACKEND:-default}"
# The four commands, run round-robin (1 2 3 4, 1 2 3 4, …) after one warm-up round:
# interleaved, so drift on a shared machine lands on every side alike.
c1="taskset -c 0 $TB verify --kind ima $opt --threads 1 --trust $CERT *.bin"
c2="taskset -c 0 evmctl ima_verify --key $CERT --sigfile *.bin"
c3="taskset -c 0,1 $TB verify --kind ima $opt --threads 2 --trust $CERT *.bin"
c4="taskset -c 0,1 sh -c 'xargs evmctl ima_verify --key $CERT --sigfile <../half1.txt & xargs evmctl ima_verify --key $CERT --sigfile <../half2.txt; wait'"
times=../times.txt
: >"$times"
for r in $(seq 0 "${RUNS:-10}"); do
    for c in 1 2 3 4; do
        eval "cmd=\$c$c"
        s=$(date +%s%N)
        if ! eval "$cmd" >/dev/null 2>&1; then
            echo "evmctl-peer: command $c failed: $cmd" >&2
            exit 1
        fi
        e=$(date +%s%N)
        [ "$r" -gt 0 ] && echo "$c $(((e - s) / 1000))" >>"$times"
    done
done
# Medians (µs) per command, then evmctl ÷ trustbench at 1 and 2 cores.
median() { awk -v c="$1" '$1 == c { print $2 }' "$times" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m1=$(median 1); m2=$(median 2); m3=$(median 3); m4=$(median 4)
echo "| cores | trustbench (median ms) | evmctl (median ms) | evmctl ÷ trustbench |"
echo "|---|---|---|---|"
awk -v a="$m1" -v b="$m2" 'BEGIN { printf "| 1 | %.1f | %.1f | %.2f |\n", a / 1000, b / 1000, b / a }'
awk -v a="$m3" -v b="$m4" 'BEGIN { printf "| 2 | %.1f | %.1f | %.2f |\n", a / 1000, b / 1000, b / a }'
echo "(${RUNS:-10} interleaved rounds after one warm-up; raw times in $DIR/times.txt)"
