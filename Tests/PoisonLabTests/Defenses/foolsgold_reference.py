#!/usr/bin/env python3
"""FoolsGold weights as the official code defines them (Fung, Yoon &
Beschastnikh, RAID 2020; DistributedML/FoolsGold, ML/code/model_aggregator.py):
cosine similarities of the clients' summed histories less the identity,
pardoning by the rows' maxima, 1 - max, rescaling, logit. Written from the
paper's Algorithm 1 and that code's steps with NumPy only; prints the goldens
of MathReviewTests.foolsGoldPardoning (Tests/PoisonLabTests/Reliability/)
and of FoolsGoldTests.normalisedSum (AggregatorTests.swift): each update
scaled to norm 1 when its norm exceeds 1 (ML_main.py's "normalize delta"),
the histories summed from those, and the aggregate the weighted sum
np.dot(delta.T, wv) of the normalised updates."""
import numpy as np


def cosine(h):
    norms = np.linalg.norm(h, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    u = h / safe[:, None]
    cs = u @ u.T
    # A history's similarity with itself is exactly 1 (0 for a zero one).
    np.fill_diagonal(cs, np.where(norms > 0, 1.0, 0.0))
    return cs


def weights(h):
    n = len(h)
    cs = cosine(h) - np.eye(n)
    v = cs.max(axis=1)
    for i in range(n):
        for j in range(n):
            if i != j and v[i] < v[j]:
                cs[i, j] *= v[i] / v[j]
    w = np.clip(1 - cs.max(axis=1), 0, 1)
    w = w / w.max()
    w[w == 1] = 0.99
    with np.errstate(divide="ignore"):
        w = np.log(w / (1 - w)) + 0.5
    w[np.isinf(w) & (w > 0)] = 1
    return np.clip(w, 0, 1)


# Client 0 is opposed to everyone (its largest similarity off the
# diagonal is negative: pardoning must not flip those signs); clients 1
# and 2 get weights between 0 and 1.
H = np.array(
    [
        [-1.0, -1.0, 0.0],
        [0.9, 0.3, 1.0],
        [0.9, -0.8, 0.2],
        [0.0, 0.5, -0.9],
        [0.3, 0.2, -0.3],
    ]
)
print("cos:", repr(cosine(H)))
np.set_printoptions(precision=12)
print("weights:", repr(weights(H)))


def rounds(updates_per_round):
    """Runs the rule over rounds (clients 0..n-1 every round)."""
    history = None
    for g in updates_per_round:
        g = np.array(g, dtype=np.float64)
        norms = np.linalg.norm(g, axis=1)
        u = g / np.maximum(norms, 1.0)[:, None]
        history = u if history is None else history + u
        w = weights(history)
        aggregate = u.T @ w
    return w, aggregate


# Two rounds of four clients: clients 0 and 1 are sybils (same direction,
# norms 5 and 2), client 2 has norm 0.5 (kept as it is), client 3 norm 3.
first = [[3.0, 4.0, 0.0], [1.2, 1.6, 0.0], [0.0, 0.3, 0.4], [0.0, 0.0, 3.0]]
second = [[6.0, 8.0, 0.0], [0.6, 0.8, 0.0], [0.3, 0.0, 0.4], [2.0, 2.0, 1.0]]
w, aggregate = rounds([first, second])
print("two rounds, weights:", repr(w))
print("two rounds, aggregate:", repr(aggregate))
# combine "mean": the same sum over the weights' sum.
print("two rounds, combine mean:", repr(aggregate / w.sum()))
