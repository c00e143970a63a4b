/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): the one random generator of poisonlab.
///
/// Every random draw in a run comes from a `SplitMix64` whose seed is derived
/// from the scenario seed with ``SeedTree``, so runs are reproducible on any
/// machine and thread count.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Creates a generator from a 64-bit seed.
  /// - Parameter seed: any value; equal seeds give equal streams.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform float in `[0, 1)` with 24 random bits.
  public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// A uniform double in `[0, 1)` with 53 random bits.
  public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// A uniform integer in `0..<bound` (Lemire's unbiased multiply-shift).
  /// - Parameter bound: the exclusive upper bound (> 0).
  /// - Returns: a uniform integer in `0..<bound` (Lemire's unbiased multiply-shift).
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "nextInt(below:) needs a positive bound")
    return Int(next(upperBound: UInt64(bound)))
  }

  /// A standard normal draw (Box-Muller, using both uniforms per call).
  public mutating func nextGaussian() -> Double {
    var u1 = nextUnitDouble()
    while u1 <= .leastNormalMagnitude { u1 = nextUnitDouble() }
    let u2 = nextUnitDouble()
    return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
  }

  /// Shuffles `array` in place (Fisher-Yates, deterministic for a given state).
  /// - Parameter array: the elements to permute.
  public mutating func shuffle<T>(_ array: inout [T]) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
      let j = nextInt(below: i + 1)
      if i != j { array.swapAt(i, j) }
    }
  }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
#endif

extension SplitMix64 {
  /// A Gamma(`shape`, 1) draw (Marsaglia & Tsang 2000; for `shape < 1`,
  /// `Gamma(shape + 1) * U^(1/shape)`).
  /// - Parameter shape: the shape `k > 0`.
  /// - Returns: the draw.
  public mutating func nextGamma(shape: Double) -> Double {
    precondition(shape > 0, "Gamma shape must be positive")
    if shape < 1 {
      var u = nextUnitDouble()
      while u <= .leastNormalMagnitude { u = nextUnitDouble() }
      return nextGamma(shape: shape + 1) * gammaPow(u, 1 / shape)
    }
    let d = shape - 1.0 / 3
    let c = 1 / (9 * d).squareRoot()
    while true {
      var x: Double
      var v: Double
      repeat {
        x = nextGaussian()
        v = 1 + c * x
      } while v <= 0
      v = v * v * v
      let u = nextUnitDouble()
      if u < 1 - 0.0331 * x * x * x * x { return d * v }
      if u > 0, gammaLog(u) < 0.5 * x * x + d * (1 - v + gammaLog(v)) { return d * v }
    }
  }

  /// A Dirichlet(`alpha`, ..., `alpha`) draw of `count` proportions.
  /// - Parameters:
  ///   - alpha: the concentration (> 0).
  ///   - count: the number of components.
  /// - Returns: non-negative proportions summing to 1.
  public mutating func nextDirichlet(alpha: Double, count: Int) -> [Double] {
    var draws = (0..<count).map { _ in nextGamma(shape: alpha) }
    let total = draws.reduce(0, +)
    guard total > 0 else { return [Double](repeating: 1 / Double(count), count: count) }
    for i in draws.indices { draws[i] /= total }
    return draws
  }
}

#if canImport(Glibc)
private func gammaLog(_ x: Double) -> Double { Glibc.log(x) }
private func gammaPow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#else
private func gammaLog(_ x: Double) -> Double { Foundation.log(x) }
private func gammaPow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
#endif
