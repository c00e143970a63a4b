/// Centered clipping (Karimireddy, He & Jaggi, ICML 2021).
///
/// Starting from `v_0` = the previous round's aggregate (zero in round 1),
/// `v_{l+1} = v_l + (1/n) sum_i (g_i - v_l) min(1, tau / |g_i - v_l|)` for
/// `iterations` steps. No update is rejected; `scores` are the final
/// clipping factors `min(1, tau / |g_i - v|)`. Defaults follow the epfml
/// experiments (tau 10, 3 iterations); ByzFL and FLPoison use tau 100, 1.
public struct CenteredClipping: Aggregator {
  public static let descriptor = PluginDescriptor(
    name: "centered-clipping", summary: "iterative clipping around the previous aggregate",
    reference:
      "Karimireddy, He & Jaggi 2021, Learning from History for Byzantine Robust Optimization (ICML)",
    parameters: [
      ParameterSpec(
        "tau", .number(atLeast: 0, open: true), default: .number(10), doc: "clipping radius"),
      ParameterSpec(
        "iterations", .integer(min: 1, max: 1000), default: .number(3),
        doc: "clipping iterations per round"),
    ])

  /// Clipping radius.
  public let tau: Double
  /// Iterations per round.
  public let iterations: Int
  public var stateAcrossRounds: String? {
    "centered-clipping's starting point (the last aggregate)"
  }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    tau = parameters.double("tau") ?? 10
    iterations = parameters.int("iterations") ?? 3
  }

  /// Creates the rule.
  /// - Parameters:
  ///   - tau: clipping radius.
  ///   - iterations: iterations per round.
  public init(tau: Double, iterations: Int) {
    self.tau = tau
    self.iterations = iterations
  }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let n = updates.count
    let d = updates.dimension
    guard n > 0 else { throw DefenseError("centered-clipping", "no update to aggregate") }
    var v =
      context.previousAggregate.flatMap { $0.count == d ? $0 : nil }
      ?? [Float](repeating: 0, count: d)
    var factors = [Double](repeating: 1, count: n)
    for _ in 0..<iterations {
      var step = [Double](repeating: 0, count: d)
      for i in 0..<n {
        var squared = 0.0
        for j in 0..<d {
          let diff = Double(updates.values[i * d + j] - v[j])
          squared += diff * diff
        }
        let norm = squared.squareRoot()
        factors[i] = norm > 0 ? min(1, tau / norm) : 1
        let scale = factors[i] / Double(n)
        for j in 0..<d { step[j] += Double(updates.values[i * d + j] - v[j]) * scale }
      }
      for j in 0..<d { v[j] += Float(step[j]) }
    }
    // Clipped in the last iteration: the rows that moved the centre by less than their distance.
    return (v, DefenseOutcome(downweighted: (0..<n).filter { factors[$0] < 1 }, scores: factors))
  }
}
