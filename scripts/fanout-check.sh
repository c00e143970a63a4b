#!/usr/bin/env bash
# Checks that a sweep fanned out by GNU parallel (4 shards) and by a Slurm job
# array (4 tasks, on a single-node cluster started here) merges to exactly the
# rows of the unsharded sweep (timings aside). Run as root by .ci/run
# (`make fanout`); installs parallel, slurm-wlm and munge when missing and
# stops the daemons it started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release/poisonlab}
SCENARIO=$PWD/scenarios/federated/sweep-synthetic.json
SWEEP=(--seeds 0-1 --quiet)
work=$(mktemp -d /tmp/poisonlab-fanout.XXXXXX)

missing=""
for p in parallel slurm-wlm munge procps; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then echo "fanout-check: needs root to install:$missing" >&2; exit 1; fi
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi

compare() {  # compare NAME FILE: same rows as the unsharded reference, sorted by run
  /usr/bin/python3 - "$work/reference.jsonl" "$2" "$1" <<'PY'
import json, sys
def rows(path):
    out = []
    for line in open(path):
        r = json.loads(line)
        for key in ('seconds', 'total_seconds', 'mean_seconds_per_round'):
            r.pop(key, None)
        out.append(r)
    out.sort(key=lambda r: (r['run_index'], r['type'] == 'summary', r.get('round', 0)))
    return out
reference, merged = rows(sys.argv[1]), rows(sys.argv[2])
if reference != merged or not reference:
    print(f'fanout-check: {sys.argv[3]}: {len(merged)} rows differ from the {len(reference)} unsharded rows')
    sys.exit(1)
print(f'fanout-check: {sys.argv[3]}: {len(merged)} rows, identical to the unsharded sweep')
PY
}

"$BIN" sweep "$SCENARIO" "${SWEEP[@]}" --output "$work/reference.jsonl"

# (a) GNU parallel: 4 shards on this machine.
parallel --will-cite "$BIN sweep $SCENARIO ${SWEEP[*]} --threads 1 --shard {}/4 --output $work/parallel.{}.jsonl" ::: 1 2 3 4
cat "$work"/parallel.*.jsonl > "$work/parallel.jsonl"
compare "GNU parallel, 4 shards" "$work/parallel.jsonl"

# (b) Slurm: a single-node cluster and a 4-task job array running scripts/slurm-sweep.sh.
export SLURM_CONF=$work/slurm/slurm.conf
mkdir -p "$work/slurm/state" "$work/slurm/spool"
host=$(hostname)
cat > "$SLURM_CONF" <<CONF
ClusterName=poisonlab
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/slurmctld.log
SlurmdLogFile=$work/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
started_munge=0
cleanup() {
  for daemon in slurmd slurmctld; do
    if [ -f "$work/slurm/$daemon.pid" ]; then
      pid=$(cat "$work/slurm/$daemon.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
  done
  [ "$started_munge" = 1 ] && pkill -u munge munged 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if ! pgrep -x munged >/dev/null; then
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged
  started_munge=1
fi
/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 1 30); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %t | grep -q idle || { echo "fanout-check: the Slurm node did not come up" >&2; cat "$work"/slurm/*.log >&2; exit 1; }
(cd "$work" && POISONLAB=$BIN timeout 600 sbatch --wait --array=1-4 --cpus-per-task=1 --export=ALL \
  "$OLDPWD/scripts/slurm-sweep.sh" 4 "$SCENARIO" "$work/slurm-out" "${SWEEP[@]}" >/dev/null)
cat "$work"/slurm-out.*.jsonl > "$work/slurm.jsonl"
compare "Slurm job array, 4 tasks" "$work/slurm.jsonl"
