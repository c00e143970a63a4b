#!/usr/bin/env bash
# Runs the reproductions of the reliability issue (and more hostile cases)
# against a built poisonlab and prints a Markdown table: the case, the exit
# code, and the first line poisonlab printed on standard error. A signal
# death (exit > 128) or a hang (124) is a failure of this script (exit 1).
# Usage: scripts/reliability-cases.sh [BINARY]   (default: .build/release/poisonlab)
# Some cases need root (mknod, tmpfs mounts); they are skipped otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
P="$(realpath "${1:-.build/release/poisonlab}")"
S="$PWD/scenarios/regression/smoke-synthetic.json"
F="$PWD/scenarios/regression/smoke-federated.json"
W="$(mktemp -d)"
trap 'umount "$W/full" 2>/dev/null; rm -rf "$W"' EXIT
export SWIFT_BACKTRACE=enable=no
cd "$W"
bad=0
echo "| case | exit | what poisonlab said (first line of stderr) |"
echo "|---|---|---|"
case_() {  # case_ "description" command...
  local name="$1"; shift
  timeout 120 bash -c "$*" >"$W/out" 2>"$W/err"
  local rc=$?
  local said
  said="$(grep -v '^ *$' "$W/err" | head -2 | sed 's/^ *//' | paste -sd'\t' | sed 's/\t/ · /' | cut -c1-170 | sed 's/|/\\|/g')"
  [ -n "$said" ] || said="(nothing)"
  echo "| $name | $rc | $said |"
  if [ "$rc" -gt 128 ] || [ "$rc" -eq 124 ]; then bad=1; fi
}
root() { [ "$(id -u)" = 0 ]; }

# 1. outputs that are not regular files
root && mknod fn c 1 3 && case_ "run --output onto a character device (mknod c 1 3); still a device after" "$P run $S --output fn --quiet; r=\$?; test -c fn && exit \$r"
mkfifo fifo; case_ "run --output onto a FIFO" "$P run $S --output fifo --quiet"
ln -s /etc/hostname link; case_ "run --output onto a symbolic link" "$P run $S --output link --quiet"
ln -s /etc/hostname planted.jsonl.partial; case_ "symbolic link planted at FILE.partial" "$P run $S --output planted.jsonl --quiet"
mkdir folder; case_ "run --output onto a folder" "$P run $S --output folder --quiet"
case_ "run --output into a missing folder" "$P run $S --output nowhere/r.jsonl --quiet"
case_ "run --plot onto /dev/null" "$P run $S --output - --quiet --plot /dev/null"
printf '1,2\n3,4\n' > u.csv
case_ "aggregate --output onto a FIFO named .npy" "mkfifo a.npy; $P aggregate u.csv --defense mean --output a.npy"
case_ "sweep --output onto /dev/null" "$P sweep $S --seeds 0-1 --output /dev/null"
case_ "check --junit onto /dev/null" "$P check $S --junit /dev/null"
case_ "report --html onto a FIFO" "$P sweep $S --seeds 0-1 --output res.jsonl --quiet; mkfifo h.html; $P report res.jsonl --html h.html"
case_ "run --output - (standard output)" "$P run $S --output - --quiet | wc -l | grep -q 5"

# 2. write failures
if root && mkdir full && mount -t tmpfs -o size=16k tmpfs full; then
  case_ "sweep of 36 runs onto a 16 KiB tmpfs" "$P sweep $S --seeds 0-35 --output full/sw.jsonl --quiet"
  case_ "resume that sweep once space is back" "cp full/sw.jsonl sw.jsonl; $P sweep $S --seeds 0-35 --output sw.jsonl --quiet && test \$(wc -l < sw.jsonl) = 180"
  rm -f full/*
  case_ "run of 400 rounds onto a 16 KiB tmpfs" "$P run $S --set training.rounds=400 --output full/r.jsonl --quiet"
  rm -f full/*
  case_ "--plot onto a full tmpfs" "dd if=/dev/zero of=full/fill bs=1k count=16 2>/dev/null; $P run $S --output - --quiet --plot full/p.svg >/dev/null"
  umount full
fi
mkdir ro && root && mount -t tmpfs -o ro,size=1m tmpfs ro && {
  case_ "run --output into a read-only file system" "$P run $S --output ro/r.jsonl --quiet"
  umount ro; }
case_ "run with ulimit -f 16 (file-size limit)" "ulimit -f 16; $P run $S --set training.rounds=400 --output f.jsonl --quiet"
for c in "validate $S" "list" "schema" "run $S --output -" "sweep $S --seeds 0-1" "check $S" "report res.jsonl" "aggregate u.csv --defense mean --format json" "privacy --noise-multiplier 1 --sample-rate 0.1 --steps 10 --delta 1e-5" "--help"; do
  case_ "${c%% *} > /dev/full" "$P $c > /dev/full"
done
case_ "list | head -1 (closed pipe)" "$P list | head -1 >/dev/null; exit \${PIPESTATUS[0]}"
case_ "sweep | head -c 10 (closed pipe)" "$P sweep $S --seeds 0-3 | head -c 10 >/dev/null; exit \${PIPESTATUS[0]}"

# 3. concurrent writers
case_ "two runs on one --output" "$P run $S --set training.rounds=3000 --output same.jsonl --quiet & sleep 0.4; $P run $S --output same.jsonl --quiet; r=\$?; wait; exit \$r"
case_ "two sweeps on one --output" "$P sweep $S --set training.rounds=1000 --seeds 0-3 --output sws.jsonl --quiet & sleep 0.4; $P sweep $S --seeds 0-3 --output sws.jsonl --quiet; r=\$?; wait; exit \$r"

# 4. resume
$P sweep $S --seeds 0-2 --output done.jsonl --quiet 2>/dev/null
sed -i '2d' done.jsonl
case_ "resume after a round row was deleted" "$P sweep $S --seeds 0-2 --output done.jsonl --quiet && test \$(wc -l < done.jsonl) = 15"
case_ "kill -9 mid-sweep, then resume (4010 rows expected)" "$P sweep $S --set training.rounds=400 --seeds 0-9 --output k.jsonl --quiet & sleep 0.5; kill -9 \$! 2>/dev/null; wait 2>/dev/null; $P sweep $S --set training.rounds=400 --seeds 0-9 --output k.jsonl --quiet && test \$(wc -l < k.jsonl) = 4010"

# 5. values
for v in "training.learning_rate=1e-46" "training.momentum=0.99999999999" "training.learning_rate=1e39" "training.weight_decay=1e-50" "dataset.separation=1e300"; do
  case_ "--set $v" "$P run $S --set $v --output - --quiet"
done
printf '{"name": "x", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "training": {"learning_rate": 1e-320}}' > lr.json
case_ "learning_rate 1e-320 in the file" "$P run lr.json --output - --quiet"
case_ "--seed -1" "$P run $S --seed -1"
case_ "--seed 2^64" "$P run $S --seed 18446744073709551616"
case_ "aggregate --defense '[]'" "$P aggregate u.csv --defense '[]'"
case_ "federated scenario with defense []" "$P run $F --set 'defense=[]'"
case_ "validate a 65536x65536 hidden layer (parameter cap)" "$P validate $S --set 'model.hidden=[65536,65536]'"

# 6. memory and scale
case_ "validate hidden [30000, 30000], federated" "$P validate $F --set 'model.hidden=[30000,30000]'"
case_ "run hidden [30000, 30000], federated" "$P run $F --set 'model.hidden=[30000,30000]'"
case_ "--threads 100000" "$P run $S --threads 100000 --output - --quiet >/dev/null"
case_ "--max-memory 100K" "$P run $S --max-memory 100K"
case_ "run under ulimit -v 300000" "ulimit -v 300000; $P run $S --output - --quiet"
case_ "run under ulimit -v 600000" "ulimit -v 600000; $P run $S --output - --quiet >/dev/null"
case_ "--seeds 0-100000000" "$P sweep $S --seeds 0-100000000"
python3 -c "import json; print(json.dumps({'name':'big','dataset':{'name':'synthetic'},'model':{'name':'mlp'},'sweep':{'seed':list(range(5000000))}}))" > bigsweep.json
case_ "sweep block of 5,000,000 values" "$P sweep bigsweep.json"

# 7. hostile files
mkdir -p bomb && python3 - <<'PY'
import gzip, struct
with gzip.open('bomb/train-images-idx3-ubyte.gz', 'wb') as f:
    f.write(bytes([0, 0, 8, 3]) + struct.pack('>III', 10, 28, 28))
    z = bytes(1 << 20)
    for _ in range(1024): f.write(z)
for n in ['train-labels-idx1-ubyte', 't10k-labels-idx1-ubyte']:
    open('bomb/' + n, 'wb').write(bytes([0, 0, 8, 1]) + struct.pack('>I', 10) + bytes(10))
open('bomb/t10k-images-idx3-ubyte', 'wb').write(bytes([0, 0, 8, 3]) + struct.pack('>III', 10, 28, 28) + bytes(7840))
PY
printf '{"name": "b", "dataset": {"name": "mnist", "path": "bomb"}, "model": {"name": "mlp"}}' > bomb.json
case_ "1 GiB gzip bomb behind an IDX header" "$P run bomb.json --output -"
head -c 200000000 /dev/zero | tr '\0' '1' > long.csv; echo ',0' >> long.csv
printf '{"name": "l", "dataset": {"name": "csv", "train": "long.csv"}, "model": {"name": "logistic"}}' > long.json
case_ "CSV with a 200 MB line" "$P run long.json --output -"
printf '\xef\xbb\xbf1,2\n3,4\n' > bom.csv; case_ "aggregate: BOM before a numeric first row" "$P aggregate bom.csv --defense mean --format json | grep -q '\"rows\": 2'"
printf '1,x,3\n4,5,6\n' > mixed.csv; case_ "aggregate: first row 1,x,3" "$P aggregate mixed.csv --defense mean"
printf 'not numpy' > bad.npy; case_ "aggregate: .npy with a wrong magic" "$P aggregate bad.npy --defense mean"
printf '1e39,2\n3,4\n' > big.csv; case_ "aggregate: 1e39 (beyond float32)" "$P aggregate big.csv --defense mean"
printf 'nan,1\n' > s.csv; case_ "fltrust with a NaN server update" "$P aggregate u.csv --defense fltrust --server-update s.csv"
printf '0\n0\n' > w.csv; case_ "fedavg with all-zero weights" "$P aggregate u.csv --defense fedavg --weights w.csv"
exit "$bad"
