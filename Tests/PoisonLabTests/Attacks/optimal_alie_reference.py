"""Golden values for ByzFL's Optimal_ALittleIsEnough (byzfl.attacks), in NumPy.

Written from ByzFL's definition (LPD-EPFL/byzfl, byzfl/attacks/attacks.py):
the Byzantine vector is mean + tau * std(ddof=1) of the honest vectors;
tau >= 0 maximises || agg(honest + f copies) - mean(honest) || by ByzFL's
line search (line_search_reference.search: 20 evaluations from 0, first
step 10, contraction 0.8). agg is ByzFL's TrMean(f): per coordinate,
drop the f smallest and f largest values and average the rest.

Feeds `optimalALIEGolden` in AdaptiveAttackTests.swift. Run:
    python3 Tests/PoisonLabTests/Attacks/optimal_alie_reference.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from line_search_reference import search  # noqa: E402  ByzFL's search, shared


def trmean(vectors, f):
    s = np.sort(vectors, axis=0)
    return s[f:len(vectors) - f].mean(axis=0)


def optimal_alie(honest, f):
    mean = honest.mean(axis=0)
    std = np.sqrt(honest.var(axis=0, ddof=1))

    def evaluate(tau):
        byz = np.array([mean + tau * std] * f)
        return np.linalg.norm(trmean(np.concatenate((honest, byz)), f) - mean)

    tau = search(evaluate)
    return tau, mean + tau * std


if __name__ == "__main__":
    honest = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [2.0, 0.0, 5.0]])
    tau, vector = optimal_alie(honest, f=1)
    print("tau", repr(tau))
    print("vector", [repr(float(v)) for v in vector])
