#!/usr/bin/env python3
"""Goldens for AuditTests.stripThreshold and stripSuperimpose (SciPy, NumPy).

The normal threshold is the authors' notebook's rule
(garrisongys/STRIP): scipy.stats.norm.fit on the clean entropies, then
norm.ppf(frr, mu, sigma). The superimposition entropies are those of
softmax([x, 0]) in bits, x = (raw - 127.5) / 127.5, for an input of 100
blended with an image of 200.

Run: python3 Tests/PoisonLabTests/Audit/strip_reference.py
"""
import numpy as np
from scipy.stats import norm

calibration = np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0])
mu, sigma = norm.fit(calibration)
print('normal fit', repr(float(mu)), repr(float(sigma)))
for frr in (0.01, 0.2):
    print(f'normal threshold frr={frr}', repr(float(norm.ppf(frr, mu, sigma))))


def entropy(raw):
    x = (raw - 127.5) / 127.5
    p = 1 / (1 + np.exp(-x))
    return float(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)))


for name, raw in (('clipped-sum', min(100 + 200, 255)), ('sum', 100 + 200), ('mean', (100 + 200) / 2)):
    print(f'entropy {name}', repr(entropy(raw)))
