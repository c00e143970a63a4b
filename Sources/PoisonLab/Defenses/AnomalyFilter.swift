/// Anomaly detection on updates: z-scores of each update's L2 norm and of its
/// cosine distance to the coordinate-wise median update; an update is
/// rejected when `|z_norm| > threshold` or `z_cosine > threshold`.
///
/// `z = (x - mean) / std` over the round's updates (population std); a
/// statistic with zero spread rejects nothing (for the norms, a spread
/// below 1e-12 of the largest norm counts as zero, so that updates of
/// any size are judged alike; cosine distances have no scale, and a
/// spread below 1e-12 is zero). `scores` hold, per update,
/// the larger of `|z_norm|` and `z_cosine`. (A 3-sigma rule on update
/// statistics, as FedML's `3sigma` defense; the threshold is configurable.)
public struct AnomalyFilter: UpdateFilter {
  public static let descriptor = PluginDescriptor(
    name: "anomaly",
    summary: "reject updates whose norm or cosine distance to the median is an outlier (z-score)",
    reference:
      "No paper: the sigma rule of FedML's three-sigma defense (fedml/core/security/defense), on update norms and cosine distances to the median; poisonlab's default cut is 2, not 3",
    parameters: [
      ParameterSpec(
        "threshold", .number(atLeast: 0, open: true), default: .number(2),
        doc: "z-score above which an update is rejected")
    ], notes: ["needs n >= 3"])

  /// The z-score bound.
  public let threshold: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    threshold = parameters.double("threshold") ?? 2
  }

  /// Creates the filter.
  /// - Parameter threshold: the z-score bound.
  public init(threshold: Double) { self.threshold = threshold }

  /// `(x - mean) / std`, or zeros when the spread is zero.
  /// - Parameters:
  ///   - x: the statistic of every update.
  ///   - relative: whether zero spread is judged against the largest `|x|`
  ///     (norms) rather than absolutely (cosine distances).
  /// - Returns: one z-score per update.
  static func zScores(_ x: [Double], relative: Bool) -> [Double] {
    let mean = x.reduce(0, +) / Double(x.count)
    let std = (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)).squareRoot()
    let zero = relative ? 1e-12 * (x.map(abs).max() ?? 0) : 1e-12
    return x.map { std > zero ? ($0 - mean) / std : 0 }
  }

  public mutating func filter(
    _ updates: inout UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> DefenseOutcome {
    let n = updates.count
    guard n >= 3 else { throw DefenseError("anomaly", "needs at least 3 updates, received \(n)") }
    let median = updates.coordinateWise(threads: context.threads) { Selection.median($0) }
    let medianNorm = median.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    let norms = updates.norms()
    let d = updates.dimension
    let cosineDistances = (0..<n).map { i -> Double in
      var dot = 0.0
      for j in 0..<d { dot += Double(updates.values[i * d + j]) * Double(median[j]) }
      let denominator = norms[i] * medianNorm
      return denominator > 0 ? 1 - dot / denominator : 1
    }
    let zNorm = Self.zScores(norms, relative: true)
    let zCosine = Self.zScores(cosineDistances, relative: false)
    let scores = (0..<n).map { max(abs(zNorm[$0]), zCosine[$0]) }
    let rejected = (0..<n).filter { scores[$0] > threshold }
    updates = updates.selecting((0..<n).filter { scores[$0] <= threshold })
    return DefenseOutcome(flagged: rejected, scores: scores)
  }
}
