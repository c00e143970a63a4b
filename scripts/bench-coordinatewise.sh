#!/bin/bash
# Coordinate-wise median and trimmed mean of n = 100 updates of d = 1,000,000
# (400 MB), poisonlab (2 threads, the sorting network of ColumnSort) side by
# side with NumPy from Debian's python3-numpy (one thread: np.median along
# axis 0, and the sort-based trimmed mean np.sort(x, axis=0)[f:n-f].mean(0)),
# on the same .npy file; the best of 3 runs each. Fails when poisonlab is
# slower than 0.25 s or less than 2x faster than NumPy's trimmed mean.
# Usage: scripts/bench-coordinatewise.sh  (after a release build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
P="$here/.build/release/poisonlab"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
/usr/bin/python3 - "$work/u.npy" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(9)
np.save(sys.argv[1], rng.standard_normal((100, 1_000_000), dtype=np.float32))
PY
best() { sort -g | head -1; }
ours() {
  for _ in 1 2 3; do
    "$P" aggregate "$work/u.npy" --defense "$1" --threads 2 --format json --output "$work/a.npy" \
      | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
  done | best
}
median=$(ours median)
trimmed=$(ours '{"name": "trimmed-mean", "f": 10}')
/usr/bin/python3 - "$work/u.npy" "$median" "$trimmed" <<'PY'
import sys, time, numpy as np
x = np.load(sys.argv[1])
median, trimmed = float(sys.argv[2]), float(sys.argv[3])
def best(f):
    times = []
    for _ in range(3):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)
np_median = best(lambda: np.median(x, axis=0))
np_trimmed = best(lambda: np.sort(x, axis=0)[10:90].mean(axis=0, dtype=np.float64))
print("coordinate-wise rules, n = 100, d = 1,000,000 (400 MB), best of 3:")
for name, ours, theirs in [("median", median, np_median), ("trimmed-mean (f = 10)", trimmed, np_trimmed)]:
    print(f"  {name:22s} poisonlab {ours:6.3f} s (2 threads)   NumPy {theirs:6.3f} s (1 thread)   {theirs / ours:5.1f}x")
if not (median <= 0.25 and trimmed <= 0.25 and np_trimmed >= 2 * trimmed):
    print("bench-coordinatewise: target missed (<= 0.25 s and 2x NumPy's trimmed mean)", file=sys.stderr)
    sys.exit(1)
PY
