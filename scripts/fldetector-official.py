#!/usr/bin/env python3
"""FLDetector as its official code computes it, in NumPy, on updates that
`poisonlab run --save-updates DIR` exported: an independent check of
poisonlab's `fldetector` monitor signal (Safeguards/Signals/FLDetector.swift).

Written from the formulas of Zhang, Cao, Jia & Gong (KDD 2022) and of the
official repository (zaixizhang/FLDetector: L-BFGS with the block matrix
[[sigma S'S, L], [L', -D]], predictions g_i^(t-1) + H v, distances divided
by their round's sum, the mean over the last N = 10 rounds, the gap
statistic with 10 uniform references and k from 1 to 7, the higher-mean
cluster of a 2-means split suspected). It prints, per round, the gap's k,
the AUC of attackers' scores above honest ones, the suspects, their
precision and the attackers' mean score over the honest clients', for
poisonlab's timing (predictions from the first stored pair) and for the
official one (predictions only with 10 stored pairs, from the round after
the attack starts), with and without the Hessian term.

Usage (Debian's python3-numpy):
  poisonlab run scenarios/safeguards/fldetector-alie.json --set training.rounds=16 \
    --save-updates DIR --quiet --no-expect
  python3 scripts/fldetector-official.py DIR
Measured 2026-12-03 (ALIE on W1, rounds 12-16): k = 2, AUC 0.000, the 16
honest clients suspected (precision 0), attackers' scores 0.31-0.58 of the
honest ones; the same rounds and suspects as poisonlab's alarms, whose
cluster gaps the official formula reproduces to about 1e-11.
"""
import numpy as np, json, sys, os
D = sys.argv[1]; N = 10
rounds = sorted(int(f[6:10]) for f in os.listdir(D) if f.endswith('.json'))
U = {}; A = {}; M = {}
for r in rounds:
    U[r] = np.load(f'{D}/round-{r:04d}.npy').astype(np.float64)
    A[r] = np.load(f'{D}/round-{r:04d}.aggregate.npy').astype(np.float64).ravel()
    M[r] = np.array(json.load(open(f'{D}/round-{r:04d}.json'))['malicious'])

def lbfgs(S, Y, v):  # official train_*.py lbfgs, columns oldest first
    S = np.stack(S, 1); Y = np.stack(Y, 1)
    SY = S.T @ Y; SS = S.T @ S
    L = SY - np.triu(SY)
    sigma = (Y[:, -1] @ S[:, -1]) / (S[:, -1] @ S[:, -1])
    Dm = np.diag(np.diag(SY))
    mat = np.block([[sigma * SS, L], [L.T, -Dm]])
    p = np.concatenate([S.T @ (sigma * v), Y.T @ v])
    return sigma * v - np.concatenate([sigma * S, Y], 1) @ (np.linalg.inv(mat) @ p)

def kmeans1d(x, k):  # exact DP
    o = np.argsort(x, kind='stable'); xs = x[o]; n = len(x); k = min(k, n)
    c1 = np.concatenate([[0], np.cumsum(xs)]); c2 = np.concatenate([[0], np.cumsum(xs**2)])
    cost = lambda i, j: max(0.0, (c2[j+1]-c2[i]) - (c1[j+1]-c1[i])**2/(j-i+1))
    best = np.full((k, n), np.inf); st = np.zeros((k, n), int)
    for j in range(n): best[0, j] = cost(0, j)
    for c in range(1, k):
        for j in range(c, n):
            for i in range(c, j+1):
                v = best[c-1, i-1] + cost(i, j)
                if v < best[c, j]: best[c, j] = v; st[c, j] = i
    lab = np.zeros(n, int); end = n-1
    for c in range(k-1, -1, -1):
        b = 0 if c == 0 else st[c, end]; lab[o[b:end+1]] = c; end = b-1
    return best[k-1, n-1], lab

def gap(score, rng, nrefs=10, ks=range(1, 8)):
    s = (score - score.min()) / (score.max() - score.min())
    gaps = []; sdk = []
    for k in ks:
        Wk = kmeans1d(s, k)[0]
        ref = np.array([kmeans1d(rng.uniform(0, 1, len(s)), k)[0] for _ in range(nrefs)])
        gaps.append(np.log(ref.mean()) - np.log(max(Wk, 1e-300)))
        sdk.append(np.sqrt((1.0 + nrefs) / nrefs) * np.std(np.log(ref)))
    for i in range(len(gaps) - 1):
        if gaps[i] - gaps[i+1] + sdk[i+1] >= 0: return i + 1
    return len(gaps)

def auc(score, mal):
    p = score[mal]; q = score[~mal]
    return np.mean([(a > b) + 0.5*(a == b) for a in p for b in q])

def run(name, full_history_only, first_row_round, use_hvp=True, yscale=1.0):
    rng = np.random.default_rng(0)
    S = []; Y = []; rows = []; out = []
    for r in rounds:
        if r >= 3 and r-1 in A:
            v = A[r-1]  # w_r - w_{r-1}, server rate 1
            if S and (len(S) == N or not full_history_only) and r >= first_row_round:
                hvp = lbfgs(S, [yscale*y for y in Y], v) if use_hvp else 0*v
                pred = (U[r-1]*yscale if yscale != 1 else U[r-1]) + hvp
                d = np.linalg.norm(pred - U[r]*yscale, axis=1)
                rows.append(d / d.sum())
        if len(rows) >= N:
            sc = np.mean(rows[-N:], 0); mal = M[r]
            k = gap(sc, rng); _, lab = kmeans1d(sc, 2)
            hi = lab == 1
            prec = (hi & mal).sum() / max(hi.sum(), 1)
            out.append((r, k, round(auc(sc, mal), 3), hi.sum(), round(prec, 2), sc[mal].mean()/sc[~mal].mean()))
        # commit: pair (w_r - w_{r-1}, agg_r - agg_{r-1})
        if r-1 in A:
            S.append(A[r-1].copy()); Y.append(A[r] - A[r-1])
            if len(S) > N: S.pop(0); Y.pop(0)
    print(name)
    for o in out: print('  round %d k=%d AUC(mal>hon)=%.3f flagged=%d precision=%.2f mal/hon score=%.3f' % o)

mode = sys.argv[2] if len(sys.argv) > 2 else 'all'
first_attack = min(r for r in rounds if M[r].any())
run('poisonlab-equivalent (rows from round 3, growing history)', False, 3)
run('same, no hvp (prediction = previous update)', False, 3, use_hvp=False)
run('same, gradient units (Y scaled by -1/lr)', False, 3, yscale=-1/0.05)
run('official timing (full 10-pair history, rows only from first attack round+1)', True, first_attack+1)
run('official timing, no hvp', True, first_attack+1, use_hvp=False)
