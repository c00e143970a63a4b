"""Golden HDBSCAN labels for HDBSCANTests.swift (scikit-learn 1.9.1).

Run: python3 hdbscan_reference.py  (needs numpy and scikit-learn)
Prints each case's 2-D points (rounded to 3 decimals, so Swift rebuilds the
exact same Euclidean distances) and the labels scikit-learn's HDBSCAN gives,
renumbered by first appearance (noise stays -1).
"""
import numpy as np
from sklearn.cluster import HDBSCAN


def canonical(labels):
    ids, out = {}, []
    for label in labels:
        if label < 0:
            out.append(-1)
        else:
            out.append(ids.setdefault(label, len(ids)))
    return out


def case(name, points, mcs, ms, single):
    points = np.round(points, 3)
    d = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    labels = HDBSCAN(metric="precomputed", min_cluster_size=mcs, min_samples=ms,
                     allow_single_cluster=single).fit(d).labels_
    print(f"// {name}: mcs={mcs} ms={ms} single={single}")
    print("points:", [[float(x), float(y)] for x, y in points])
    print("labels:", canonical(labels))


rng = np.random.default_rng(7)
two = np.vstack([rng.normal(0, 0.3, (6, 2)), rng.normal(5, 0.3, (6, 2)), [[10, -5], [-6, 8]]])
case("two blobs + 2 outliers", two, 3, 1, False)
case("two blobs + 2 outliers", two, 3, 3, False)
three = np.vstack([rng.normal(0, 0.2, (5, 2)), rng.normal(3, 0.2, (5, 2)),
                   rng.normal((0, 6), 1.0, (5, 2)), [[20, 20]]])
case("three blobs of unequal density", three, 4, 2, False)
flame = np.vstack([rng.normal(0, 0.5, (8, 2)), rng.normal((4, 4), 0.1, (3, 2))])
case("FLAME setting: majority + tight minority", flame, 11 // 2 + 1, 1, True)
case("FLAME setting without single cluster", flame, 11 // 2 + 1, 1, False)
case("duplicate points", np.array([[1.0, 1.0]] * 5 + [[9.0, 9.0]] * 2), 4, 1, True)
