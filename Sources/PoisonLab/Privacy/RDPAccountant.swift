#if canImport(Glibc)
import Glibc
#endif

/// Rényi differential privacy of the sampled Gaussian mechanism, and its
/// conversion to (epsilon, delta).
///
/// For sampling rate `q` (each record, or client, is included in a step with
/// probability `q`: Poisson sampling) and noise multiplier `sigma` (noise
/// std / L2 sensitivity), the RDP of one step at order `alpha` is
/// `log(A_alpha) / (alpha - 1)` (Mironov, Talwar & Zhang 2019, "Rényi
/// Differential Privacy of the Sampled Gaussian Mechanism", arXiv:1908.10530):
///
/// - integer `alpha`:
///   `A = sum_{i=0}^{alpha} C(alpha, i) (1-q)^(alpha-i) q^i exp((i^2 - i) / (2 sigma^2))`;
/// - fractional `alpha`: the paper's two-sided series with `erfc` terms,
///   summed until its terms fall below `exp(-30)`.
///
/// RDP composes additively over steps. The conversion is the classic one,
/// `epsilon = min_alpha (RDP(alpha) - log(delta) / (alpha - 1))` (Mironov
/// 2017, Proposition 3), over TF-Privacy's default orders
/// `1.1, 1.2, ..., 10.9` and `12 ... 63`; it reproduces the published
/// MNIST DP-SGD table of TensorFlow Privacy (see the tests).
public enum RDPAccountant {
  /// TF-Privacy's default orders: `1 + x/10` for `x` in 1...99, then 12...63.
  public static let orders: [Double] =
    (1...99).map { 1 + Double($0) / 10 } + (12...63).map(Double.init)

  /// The privacy spent by `steps` steps.
  /// - Parameters:
  ///   - q: the sampling rate in [0, 1].
  ///   - noiseMultiplier: noise std over sensitivity (> 0).
  ///   - steps: the number of compositions.
  ///   - delta: the target delta in (0, 1).
  ///   - orders: the RDP orders tried.
  /// - Returns: the smallest epsilon and the order achieving it.
  public static func epsilon(
    q: Double, noiseMultiplier: Double, steps: Int, delta: Double, orders: [Double] = orders
  ) -> (epsilon: Double, order: Double) {
    epsilon(
      steps: [(q, steps)], noiseMultiplier: noiseMultiplier, delta: delta, orders: orders)
  }

  /// The privacy spent by steps whose sampling rates differ (a client
  /// quarantined in a federated run raises the others' chance of being
  /// selected).
  /// - Parameters:
  ///   - rates: each step's sampling rate in [0, 1].
  ///   - noiseMultiplier: noise std over sensitivity (> 0).
  ///   - delta: the target delta in (0, 1).
  ///   - orders: the RDP orders tried.
  /// - Returns: the smallest epsilon and the order achieving it.
  public static func epsilon(
    rates: [Double], noiseMultiplier: Double, delta: Double, orders: [Double] = orders
  ) -> (epsilon: Double, order: Double) {
    var counts: [Double: Int] = [:]
    for q in rates { counts[q, default: 0] += 1 }
    return epsilon(
      steps: counts.keys.sorted().map { ($0, counts[$0] ?? 0) }, noiseMultiplier: noiseMultiplier,
      delta: delta, orders: orders)
  }

  /// RDP summed over groups of equal steps, then converted.
  ///
  /// No step that releases anything (no steps, or a sampling rate of 0) spends nothing:
  /// epsilon 0, as dp-accounting's `RdpAccountant` reports (the
  /// conversion alone would give `min log(1/delta) / (alpha - 1)`).
  private static func epsilon(
    steps: [(q: Double, count: Int)], noiseMultiplier: Double, delta: Double, orders: [Double]
  ) -> (epsilon: Double, order: Double) {
    guard steps.contains(where: { $0.q > 0 && $0.count > 0 }) else {
      return (0, orders.first ?? 2)
    }
    var best = (epsilon: Double.infinity, order: orders.first ?? 2)
    for alpha in orders {
      var total = 0.0
      for step in steps where step.count > 0 {
        total += Double(step.count) * rdp(q: step.q, sigma: noiseMultiplier, alpha: alpha)
      }
      let value = total - log(delta) / (alpha - 1)
      if value < best.epsilon { best = (value, alpha) }
    }
    return (max(0, best.epsilon), best.order)
  }

  /// The RDP of one step of the sampled Gaussian mechanism at order `alpha`.
  /// - Parameters:
  ///   - q: the sampling rate.
  ///   - sigma: the noise multiplier.
  ///   - alpha: the order (> 1).
  /// - Returns: RDP(alpha), possibly infinite.
  public static func rdp(q: Double, sigma: Double, alpha: Double) -> Double {
    if q == 0 { return 0 }
    if q >= 1 { return alpha / (2 * sigma * sigma) }
    let logA =
      alpha == alpha.rounded()
      ? logAInteger(q: q, sigma: sigma, alpha: Int(alpha))
      : logAFractional(q: q, sigma: sigma, alpha: alpha)
    return logA / (alpha - 1)
  }

  static func logAdd(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    return max(a, b) + log1p(exp(-abs(a - b)))
  }

  static func logSubtract(_ a: Double, _ b: Double) -> Double {
    if b == -.infinity { return a }
    if a <= b { return -.infinity }
    return a + log1p(-exp(b - a))
  }

  /// `log(erfc(x))`, with the asymptotic expansion where `erfc` underflows.
  static func logErfc(_ x: Double) -> Double {
    // Below DBL_MIN erfc is subnormal and has lost digits (x ~ 26.6 to 27.3),
    // so the asymptotic expansion takes over there, not only at 0:
    // erfc(x) ~ exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) + 105/(16x^8)).
    let value = erfc(x)
    if value >= Double.leastNormalMagnitude { return log(value) }
    let x2 = x * x
    return -x2 - log(x) - 0.5 * log(Double.pi)
      + log1p(-0.5 / x2 + 0.75 / (x2 * x2) - 1.875 / (x2 * x2 * x2) + 6.5625 / (x2 * x2 * x2 * x2))
  }

  /// `log C(n, k)` for integers, via `lgamma`.
  static func logBinomial(_ n: Int, _ k: Int) -> Double {
    lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
  }

  static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
    var logA = -Double.infinity
    for i in 0...alpha {
      let coefficient = logBinomial(alpha, i) + Double(i) * log(q) + Double(alpha - i) * log(1 - q)
      logA = logAdd(logA, coefficient + Double(i * i - i) / (2 * sigma * sigma))
    }
    return logA
  }

  static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
    var (logA0, logA1) = (-Double.infinity, -Double.infinity)
    let z0 = sigma * sigma * log(1 / q - 1) + 0.5
    var coefficient = 1.0  // the generalised binomial C(alpha, i), updated by a product
    var i = 0.0
    while i < 10_000 {
      let j = alpha - i
      let logCoefficient = log(abs(coefficient))
      let logT0 = logCoefficient + i * log(q) + j * log(1 - q)
      let logT1 = logCoefficient + j * log(q) + i * log(1 - q)
      let logE0 = log(0.5) + logErfc((i - z0) / (2.0.squareRoot() * sigma))
      let logE1 = log(0.5) + logErfc((z0 - j) / (2.0.squareRoot() * sigma))
      let logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0
      let logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1
      if coefficient > 0 {
        logA0 = logAdd(logA0, logS0)
        logA1 = logAdd(logA1, logS1)
      } else {
        logA0 = logSubtract(logA0, logS0)
        logA1 = logSubtract(logA1, logS1)
      }
      if max(logS0, logS1) < -30 { break }
      coefficient *= (alpha - i) / (i + 1)
      i += 1
    }
    return logAdd(logA0, logA1)
  }
}
