#!/usr/bin/env python3
"""Golden for AggregatorTests' geometric median with two far rows: the
smoothed Weiszfeld iteration (RFA, nu = 1e-6) from the mean, in float64,
run to its fixed point (100,000 iterations). Needs Debian's python3-numpy.

Prints [0.2232985 0.29682229] (the three honest rows' geometric median,
the two rows at 1e19 given no weight)."""
import numpy as np

points = np.array([[1e19, 1e19], [1e19, 1e19], [0.1, 0.2], [0.3, 0.1], [0.2, 0.3]])
v = points.mean(axis=0)
for _ in range(100_000):
    d = np.maximum(np.linalg.norm(points - v, axis=1), 1e-6)
    w = 1 / d
    v = (w[:, None] * points).sum(axis=0) / w.sum()
print(v)
