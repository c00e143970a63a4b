/// Multi-Krum: the mean of the best-scored updates.
///
/// Multi-Krum (Blanchard et al. 2017): the mean of the `m` updates with the
/// lowest Krum scores (scores computed once, not recursively); the others
/// are flagged. `m` defaults to `n - f` (ByzFL's choice).
public struct MultiKrum: Aggregator {
  /// Pairwise distances or cosines of the updates.
  public static var buildsPairwise: Bool { true }
  /// Selects rows (and flags the others).
  public static var selectsRows: Bool { true }

  public static let descriptor = PluginDescriptor(
    name: "multi-krum", summary: "mean of the m updates with the lowest Krum scores",
    reference:
      "Blanchard et al. 2017, Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent (NeurIPS)",
    parameters: [
      byzantineSpec,
      ParameterSpec("m", .integer(min: 1, max: 100_000), doc: "updates averaged (default n - f)"),
    ], notes: ["needs n > 2f + 2"])

  /// Byzantine updates assumed.
  public let f: Int
  /// Updates averaged (nil: n - f).
  public let m: Int?

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard
      let f = declaredF(
        parameters, context: context, validator: &validator, name: "multi-krum",
        requirement: "n > 2f + 2",
        holds: { n, f in n > 2 * f + 2 })
    else { return nil }
    self.f = f
    m = parameters.int("m")
    if let m, let n = context.clientsPerRound, m > n {
      validator.fail(
        parameters.path("m"), "must be at most the \(n) \(context.updatesNoun), got \(m)")
      return nil
    }
  }

  /// Creates the rule.
  /// - Parameters:
  ///   - f: Byzantine updates assumed.
  ///   - m: updates averaged (nil: n - f).
  public init(f: Int, m: Int? = nil) {
    self.f = f
    self.m = m
  }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let n = updates.count
    let f = context.effectiveF(self.f)
    try Krum.check("multi-krum", n: n, f: f)
    let scores = Krum.scores(
      updates.squaredDistances(threads: context.threads), n: n, neighbours: n - f - 2)
    let chosen = Set(Krum.lowest(scores, min(n, m ?? n - f), updates: updates))
    let weights = (0..<n).map { chosen.contains($0) ? 1.0 : 0.0 }
    return (
      updates.weightedMean(using: weights),
      DefenseOutcome(flagged: (0..<n).filter { !chosen.contains($0) }, scores: scores)
    )
  }
}
