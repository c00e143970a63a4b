#!/usr/bin/env bash
#SBATCH --job-name=poisonlab-sweep
#SBATCH --cpus-per-task=2
#SBATCH --output=poisonlab-sweep-%A_%a.log
# A poisonlab sweep as a Slurm job array: task K runs shard K/N.
#
#   sbatch --array=1-N scripts/slurm-sweep.sh N SCENARIO PREFIX [sweep options...]
#   poisonlab report PREFIX.*.jsonl             # after the array finishes
#
# N is given, not read from the array: re-submitting only some tasks
# (sbatch --array=2,5 ... with the same N) runs and resumes those shards.
# Each task writes PREFIX.K.jsonl (runs already in it are skipped) and the
# first records N in PREFIX.shards; a later task with another N is refused,
# since its shards would overlap the earlier ones. POISONLAB may name the
# binary (default: poisonlab on PATH). Example:
#   sbatch --array=1-8 scripts/slurm-sweep.sh 8 scenarios/federated/w1-alie-krum.json out/w1 \
#     --grid defense.name=median,krum,trimmed-mean --seeds 0-4
set -euo pipefail
if [ $# -lt 3 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: sbatch --array=1-N $0 N SCENARIO PREFIX [sweep options...]" >&2
  exit 2
fi
shards=$1
scenario=$2
prefix=$3
shift 3
: "${SLURM_ARRAY_TASK_ID:?run this script with sbatch --array=1-N}"
task=$SLURM_ARRAY_TASK_ID
if [ "$task" -lt 1 ] || [ "$task" -gt "$shards" ]; then
  echo "slurm-sweep: array task $task is outside 1-$shards; submit --array=1-$shards (or a subset of it)" >&2
  exit 2
fi
# The shard count of this prefix, fixed by its first task.
if [ ! -e "$prefix.shards" ]; then
  tmp=$(mktemp "$prefix.shards.XXXXXX")
  echo "$shards" > "$tmp"
  mv -n "$tmp" "$prefix.shards" 2>/dev/null || true
  rm -f "$tmp"
fi
recorded=$(cat "$prefix.shards")
if [ "$recorded" != "$shards" ]; then
  echo "slurm-sweep: $prefix.* holds shards of $recorded; this task asks for shard $task/$shards, which would overlap them (use N = $recorded, or another PREFIX)" >&2
  exit 2
fi
exec "${POISONLAB:-poisonlab}" sweep "$scenario" "$@" \
  --shard "$task/$shards" \
  --threads "${SLURM_CPUS_PER_TASK:-1}" \
  --output "$prefix.$task.jsonl" --quiet
