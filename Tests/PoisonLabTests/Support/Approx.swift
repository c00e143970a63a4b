import PoisonLab

/// `|a - b| <= atol + rtol * |b|`, elementwise (mlx-style tolerance).
func isClose(_ a: Double, _ b: Double, rtol: Double = 1e-5, atol: Double = 1e-6) -> Bool {
  abs(a - b) <= atol + rtol * abs(b)
}

/// Element-wise `isClose` for equal-length arrays.
func allClose(_ a: [Float], _ b: [Float], rtol: Double = 1e-5, atol: Double = 1e-6) -> Bool {
  a.count == b.count
    && zip(a, b).allSatisfy { isClose(Double($0), Double($1), rtol: rtol, atol: atol) }
}

/// A vector of `count` standard normal floats from `seed`.
func gaussian(_ count: Int, seed: UInt64, scale: Double = 1) -> [Float] {
  var rng = SplitMix64(seed: seed)
  return (0..<count).map { _ in Float(rng.nextGaussian() * scale) }
}

/// A scenario from JSON text, or the error list.
func scenario(_ text: String, overrides: [String] = []) throws(ScenarioErrors) -> Scenario {
  try ScenarioLoader.decode(text, source: "test.json", overrides: overrides)
}

/// The messages of a failing scenario, as `path: message` lines.
func scenarioErrors(_ text: String, overrides: [String] = []) -> [String] {
  do {
    _ = try scenario(text, overrides: overrides)
    return []
  } catch {
    return error.errors.map(\.description)
  }
}
