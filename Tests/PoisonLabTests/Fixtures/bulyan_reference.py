#!/usr/bin/env python3
"""Golden for Bulyan with f = 1 and n = 7 (AggregatorTests): an independent
NumPy Bulyan following Flower's aggregate_bulyan, whose recursive Krum uses
max(1, k - f - 2) neighbours, so the last selections still score distances.
The outlier (+100) must stay out of the selection wherever its row is.
Equal scores go to the lexicographically smallest update (poisonlab's
choice; Flower takes the lowest index), so the result does not depend on
the order the updates arrive in: every order below prints the same.
Run: /usr/bin/python3 bulyan_reference.py (python3-numpy)."""
import numpy as np


def krum_scores(x, neighbours):
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return np.array([np.sort(np.delete(d[i], i))[: max(1, neighbours)].sum() for i in range(len(x))])


def bulyan(x, f):
    remaining, selected = list(range(len(x))), []
    while len(selected) < len(x) - 2 * f:
        scores = krum_scores(x[remaining], len(remaining) - f - 2)
        tied = np.flatnonzero(scores == scores.min())
        best = min(tied, key=lambda c: tuple(x[remaining[c]]))
        selected.append(remaining.pop(int(best)))
    selected.sort()
    s = x[selected]
    beta = len(selected) - 2 * f
    median = np.median(s, axis=0)
    columns = []
    for j in range(s.shape[1]):
        nearest = np.argsort(np.abs(s[:, j] - median[j]), kind="stable")[:beta]
        columns.append(s[nearest, j].mean())
    return selected, columns


honest = np.array([[0.0, 1.0], [0.1, 0.7], [0.3, 0.2], [0.35, 0.9], [0.52, 0.45], [0.9, 0.6]])
outlier = np.array([[100.0, 100.0]])
print("outlier first:", bulyan(np.vstack([outlier, honest]), 1))
print("outlier last: ", bulyan(np.vstack([honest, outlier]), 1))
print("honest reversed, outlier first:", bulyan(np.vstack([outlier, honest[::-1]]), 1))
