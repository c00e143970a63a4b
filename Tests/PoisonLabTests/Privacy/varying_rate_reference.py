#!/usr/bin/env python3
"""Epsilon of DP-FedAvg rounds whose sampling rates differ, by numerical
integration of the sampled Gaussian mechanism's moment (Mironov, Talwar &
Zhang 2019, Section 3):

    A_alpha = E_{z ~ N(0, sigma^2)} [((1 - q) + q exp((2z - 1) / (2 sigma^2)))^alpha]
    RDP(alpha) = log(A_alpha) / (alpha - 1), summed over the rounds,
    epsilon = min over orders of RDP - log(delta) / (alpha - 1).

Independent of poisonlab's closed forms (integer series, erfc series).
Prints the goldens of DataReviewTests.epsilonAfterQuarantine (10 clients,
5 per round, noise 1, delta 1e-5; quarantine leaves 10, 7, 6, 6, 6, 6
clients to select from), DataReviewTests.epsilonResumed (noise 1.1;
10, 8, 7 clients, and the resumed run's 5/10, 5/8, 5/10) and
PrivacyTests.epsilonPerRound (q 0.5, noise 1.5, delta 1e-6, rounds 1-4).
Needs mpmath (python3-mpmath); about 10 minutes."""
import mpmath as mp

mp.mp.dps = 30
ORDERS = [1 + x / 10 for x in range(1, 100)] + list(range(12, 64))


def rdp(q, sigma, alpha):
    q, sigma, alpha = mp.mpf(q), mp.mpf(sigma), mp.mpf(alpha)
    f = lambda z: mp.npdf(z, 0, sigma) * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * sigma**2))) ** alpha
    edges = [-40 * sigma, -10 * sigma, 0, 0.5, 1, 10 * sigma + 1, 40 * sigma + 5 + 2 * alpha / sigma**2]
    return mp.log(mp.quad(f, edges)) / (alpha - 1)


def epsilon(rates, sigma, delta):
    best = (mp.inf, None)
    for alpha in ORDERS:
        value = sum(rdp(q, sigma, alpha) for q in rates) - mp.log(delta) / (alpha - 1)
        if value < best[0]:
            best = (value, alpha)
    return best


rates = [5 / 10, 5 / 7] + [5 / 6] * 4
value, order = epsilon(rates, 1.0, 1e-5)
print(f"quarantine rates: epsilon {float(value):.10f} at order {order}")
value, order = epsilon([0.5] * 6, 1.0, 1e-5)
print(f"constant rate 0.5: epsilon {float(value):.10f} at order {order}")
value, order = epsilon([5 / 10, 5 / 8, 5 / 7], 1.1, 1e-5)
print(f"resumed scenario's full run: epsilon {float(value):.10f} at order {order}")
value, order = epsilon([0.5, 0.625, 0.5], 1.1, 1e-5)
print(f"resumed run (rates 5/10 and 5/8 recorded, then 5/10): epsilon {float(value):.10f} at order {order}")
for steps in range(1, 5):
    value, order = epsilon([0.5] * steps, 1.5, 1e-6)
    print(f"PrivacyTests.epsilonPerRound, round {steps}: epsilon {float(value):.10f} at order {order}")
