#!/usr/bin/env python3
"""Goldens for RDPAccountant.logErfc where erfc(x) is subnormal or underflows
(x from about 26.6 on): log(erfc(x)) with mpmath at 50 digits.
Run: python3 logerfc_reference.py (needs mpmath, from PyPI or python3-mpmath)."""
import mpmath

mpmath.mp.dps = 50
for x in [26.0, 26.7, 27.0, 27.3, 30.0]:
    print(f"({x}, {mpmath.nstr(mpmath.log(mpmath.erfc(x)), 20)}),")
