#!/usr/bin/env bash
#SBATCH --job-name=poisonlab-sweep
#SBATCH --cpus-per-task=2
#SBATCH --output=poisonlab-sweep-%A_%a.log
# A poisonlab sweep as a Slurm job array: task K of N runs shard K/N.
#
#   sbatch --array=1-N scripts/slurm-sweep.sh SCENARIO PREFIX [sweep options...]
#   cat PREFIX.*.jsonl > results.jsonl          # after the array finishes
#
# Each task writes PREFIX.K.jsonl; re-submitting resumes (runs already in a
# task's file are skipped). POISONLAB may name the binary (default: poisonlab
# on PATH). Example:
#   sbatch --array=1-8 scripts/slurm-sweep.sh scenarios/federated/w1-alie-krum.json out/w1 \
#     --grid defense.name=median,krum,trimmed-mean --seeds 0-4
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: sbatch --array=1-N $0 SCENARIO PREFIX [sweep options...]" >&2
  exit 2
fi
scenario=$1
prefix=$2
shift 2
: "${SLURM_ARRAY_TASK_ID:?run this script with sbatch --array=1-N}"
count=${SLURM_ARRAY_TASK_COUNT:-${SLURM_ARRAY_TASK_MAX}}
exec "${POISONLAB:-poisonlab}" sweep "$scenario" "$@" \
  --shard "${SLURM_ARRAY_TASK_ID}/${count}" \
  --threads "${SLURM_CPUS_PER_TASK:-1}" \
  --output "${prefix}.${SLURM_ARRAY_TASK_ID}.jsonl" --quiet
