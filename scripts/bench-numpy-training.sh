#!/bin/bash
# Training throughput side by side with NumPy: the MLP 784-200-200-10 of
# scenarios/fashion-mnist-clean.json (Fashion-MNIST from Debian's
# dataset-fashion-mnist, standardised with one mean and std over all the
# training pixels as poisonlab's "standard" does for images, minibatch SGD, batch
# 32, lr 0.05, 3 epochs, each followed by an evaluation of the 10,000 test
# images), trained by poisonlab on one thread and by a float32 NumPy loop
# of the same steps (Debian's python3-numpy, whose libblas.so.3 is the same
# OpenBLAS through Debian's alternatives) on one BLAS thread. Data loading is
# timed on neither side: poisonlab's time is the sum of its rounds' `seconds`.
# Prints samples per second and the final test accuracy of each (they start
# from other random weights, so the accuracies agree to about a point, not
# exactly); fails when poisonlab is slower than NumPy.
# Usage: scripts/bench-numpy-training.sh  (after a release build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
P="$here/.build/release/poisonlab"
data=/usr/share/datasets/fashion-mnist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
"$P" run "$here/scenarios/fashion-mnist-clean.json" --threads 1 --format jsonl \
  --set 'expect=null' --output "$work/p.jsonl" > /dev/null
/usr/bin/python3 - "$work/p.jsonl" "$data" <<'PY'
import gzip, json, sys, time
import numpy as np

rows = [json.loads(line) for line in open(sys.argv[1])]
rounds = [r for r in rows if r["type"] == "round"]
ours_seconds = sum(r["seconds"] for r in rounds)
ours_accuracy = rounds[-1]["accuracy"]

def idx(name, offset):
    with gzip.open(f"{sys.argv[2]}/{name}", "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)

x = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255
y = idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
tx = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255
ty = idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
# One mean and (population) std over every training pixel, as poisonlab's
# "standard" normalisation for images.
mean, std = np.float32(x.mean(dtype=np.float64)), np.float32(x.std(dtype=np.float64))
x, tx = (x - mean) / std, (tx - mean) / std

rng = np.random.default_rng(0)
sizes = [784, 200, 200, 10]
# PyTorch's default: uniform in +-1/sqrt(fan_in) for weights and biases.
W = [rng.uniform(-1, 1, (a, b)).astype(np.float32) / np.float32(np.sqrt(a)) for a, b in zip(sizes, sizes[1:])]
B = [rng.uniform(-1, 1, b).astype(np.float32) / np.float32(np.sqrt(a)) for a, b in zip(sizes, sizes[1:])]
lr, batch, epochs = np.float32(0.05), 32, len(rounds)
eye = np.eye(10, dtype=np.float32)

def forward(inputs):
    acts = [inputs]
    for k in range(3):
        z = acts[-1] @ W[k] + B[k]
        acts.append(np.maximum(z, 0) if k < 2 else z)
    return acts

seconds = 0.0
for epoch in range(epochs):
    began = time.perf_counter()
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch):
        pick = order[start:start + batch]
        acts = forward(x[pick])
        logits = acts[-1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        delta = (p - eye[y[pick]]) / np.float32(len(pick))
        for k in (2, 1, 0):
            gw, gb = acts[k].T @ delta, delta.sum(0)
            if k > 0:
                delta = (delta @ W[k].T) * (acts[k] > 0)
            W[k] -= lr * gw
            B[k] -= lr * gb
    accuracy = float((forward(tx)[-1].argmax(1) == ty).mean())
    seconds += time.perf_counter() - began

samples = len(x) * epochs
print(f"MLP 784-200-200-10 on Fashion-MNIST, batch 32, {epochs} epochs with evaluation, 1 thread:")
print(f"  poisonlab {samples / ours_seconds:9.0f} samples/s ({ours_seconds:6.2f} s)   accuracy {ours_accuracy:.4f}")
print(f"  NumPy     {samples / seconds:9.0f} samples/s ({seconds:6.2f} s)   accuracy {accuracy:.4f}")
print(f"  poisonlab / NumPy: {seconds / ours_seconds:.1f}x")
if ours_seconds > seconds:
    print("bench-numpy-training: poisonlab was slower than NumPy", file=sys.stderr)
    sys.exit(1)
PY
