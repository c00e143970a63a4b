#!/usr/bin/env python3
"""Goldens for LBFGS.hessianProduct (SafeguardTests): FLDetector's `lbfgs`
(zaixizhang/FLDetector, train_mnist.py) transcribed to NumPy, on fixed
inputs. Run: python3 lbfgs_reference.py (needs numpy)."""
import numpy as np

S = np.array([[1.0, 0.5, -0.25], [0.0, 2.0, 1.0], [0.5, -1.0, 0.75], [1.5, 0.25, 0.0]])  # d=4, N=3 columns
Y = np.array([[2.0, 0.75, -0.5], [0.25, 3.0, 1.5], [1.0, -1.25, 1.0], [2.5, 0.5, 0.25]])
v = np.array([0.3, -0.2, 0.7, 1.1])

StY = S.T @ Y
StS = S.T @ S
R = np.triu(StY)
L = StY - R
sigma = (Y[:, -1] @ S[:, -1]) / (S[:, -1] @ S[:, -1])
D = np.diag(np.diag(StY))
M = np.block([[sigma * StS, L], [L.T, -D]])
p = np.concatenate([S.T @ (sigma * v), Y.T @ v])
hv = sigma * v - np.concatenate([sigma * S, Y], axis=1) @ np.linalg.inv(M) @ p
print("sigma", repr(sigma))
print("hv", [repr(float(x)) for x in hv])
