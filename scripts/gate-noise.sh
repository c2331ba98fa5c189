#!/usr/bin/env bash
# The regression gate's noise floor on this machine: N identical default runs (default 5),
# the max/min spread of each pass's efficiency across them, and every ordered pair judged by
# `trustbench compare` (a pair flagged here is a false alarm of the gate).
#   scripts/gate-noise.sh [N] [BINARY]     (run from the repository root)
set -euo pipefail
n=${1:-5}
bin=${2:-target/release/trustbench}
out=$(mktemp -d)
for i in $(seq 1 "$n"); do
  "$bin" run --quiet --results-dir "$out/runs" --json "$out/run$i.json" 2>/dev/null
done
python3 - "$out" "$n" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{out}/run{i}.json")) for i in range(1, n + 1)]
for k, p in enumerate(runs[0]["passes"]):
    e = [r["passes"][k]["efficiency"] for r in runs]
    print(f"{p['name']}: efficiency {' '.join(f'{x:.3f}' for x in e)}  spread {max(e)/min(e):.3f}")
PY
flagged=0; pairs=0
for a in $(seq 1 "$n"); do for b in $(seq 1 "$n"); do
  [ "$a" = "$b" ] && continue
  pairs=$((pairs + 1))
  if ! "$bin" compare "$out/run$a.json" "$out/run$b.json" --json "$out/cmp-$a-$b.json" >/dev/null; then
    flagged=$((flagged + 1))
  fi
done; done
python3 - "$out" "$n" <<'PY'
import json, sys, glob
out = sys.argv[1]
worst = {}
for f in glob.glob(f"{out}/cmp-*.json"):
    for r in json.load(open(f))["rows"]:
        worst[r["pass"]] = max(worst.get(r["pass"], 0.0), abs(r["change_pct"]))
print("largest |change| between identical runs: " + ", ".join(f"{k} {v:.1f}%" for k, v in sorted(worst.items())))
PY
echo "pairs judged: $pairs, flagged as regressions: $flagged (results in $out)"
