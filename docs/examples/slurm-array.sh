#!/usr/bin/env bash
# A Slurm job array that verifies a corpus in 8 shards, one array task each, and a job that
# merges the shard reports once every task has finished (docs/fleet.md).
#
#   jobid=$(sbatch --parsable docs/examples/slurm-array.sh)
#   sbatch --dependency=afterany:"$jobid" --wrap \
#     'trustbench merge --verdicts-only results/shards/shard-*.json --json results/merged.json --markdown results/merged.md'
#
# Run from the repository root (sbatch keeps the submission directory). The task ids need
# not start at 0 or 1: --shard auto counts from SLURM_ARRAY_TASK_MIN in steps of the
# array's step, so --array=1-8, --array=100-107 or --array=0-14:2 all give shards 1..8 of 8.
# A list that is not evenly spaced (--array=1,2,9) is refused: set TRUSTBENCH_SHARD=K/N
# yourself then.
#SBATCH --job-name=trustbench-shards
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=01:00:00
#SBATCH --output=results/shards/slurm-%A_%a.out
set -euo pipefail

mkdir -p results/shards
# Every task generates the same deterministic corpus from the spec into its node-local
# scratch; exit 1 (a manifest mismatch) still leaves the report for the merge.
trustbench run --spec corpora/default.toml --shard auto --quiet \
  --threads "${SLURM_CPUS_PER_TASK:-2}" \
  --corpus-cache "${TMPDIR:-/tmp}/trustbench-corpora" \
  --json "results/shards/shard-${SLURM_ARRAY_TASK_ID}.json"
