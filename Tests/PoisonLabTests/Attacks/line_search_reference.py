#!/usr/bin/env python3
"""Goldens of AdaptiveAttackTests.lineMaximize: the factor search of ByzFL's
Optimal_ALittleIsEnough / Optimal_InnerProductManipulation (byzfl.attacks,
defaults evals=20, start=0.0, delta=10.0, ratio=0.8), written out from its
documented expansion and contraction phases. Run: python3 line_search_reference.py
"""


def search(f, evals=20, start=0.0, delta=10.0, ratio=0.8):
    best_x, best_y = start, f(start)
    remaining = evals - 1
    while remaining > 0:  # expansion: double the step after each gain
        x = best_x + delta
        y = f(x)
        remaining -= 1
        if y > best_y:
            best_x, best_y = x, y
            delta *= 2
        else:
            delta *= ratio
            break
    while remaining > 0:  # contraction: probe above the best, shrinking the step
        x = best_x + delta
        y = f(x)
        remaining -= 1
        if y > best_y:
            best_x, best_y = x, y
        delta *= ratio
    return best_x


if __name__ == '__main__':
    print(repr(search(lambda x: -(x - 2.5) ** 2)))  # 4.096000000000001
    print(repr(search(lambda x: -(x - 35.0) ** 2)))  # 38.388608000000005
    print(repr(search(lambda x: -x)))  # 0.0
