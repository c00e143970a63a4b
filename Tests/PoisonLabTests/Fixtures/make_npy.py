#!/usr/bin/env python3
"""Writes the .npy fixtures of AggregateTests with NumPy (run from this folder).

updates_f32.npy      8 x 5 float32, seed 0 normal, row 6 scaled by 50 (an outlier)
updates_f64.npy      the same values as float64
updates_f32_be.npy   the same values as big-endian float32
updates_fortran.npy  the same values in Fortran order (must be refused)
weights.npy          8 float64 sample weights
"""
import numpy as np

rng = np.random.default_rng(0)
a = rng.normal(size=(8, 5)).astype(np.float32)
a[6] *= 50
np.save('updates_f32.npy', a)
np.save('updates_f64.npy', a.astype(np.float64))
np.save('updates_f32_be.npy', a.astype('>f4'))
np.save('updates_fortran.npy', np.asfortranarray(a))
np.save('weights.npy', np.arange(1, 9, dtype=np.float64))
# The values, for the test's expectations.
print('row0 =', [float(x) for x in a[0]])
print('median =', [float(x) for x in np.median(a, axis=0)])
