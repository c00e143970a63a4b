/// Krum (Blanchard, El Mhamdi, Guerraoui & Stainer, NeurIPS 2017).
///
/// `score(i) = sum_{j in N_i} |g_i - g_j|^2`, with `N_i` the `n - f - 2`
/// nearest other updates (squared distances, as in the paper, Flower and
/// epfml; ByzFL averages over n - f - 1 and FLPoison sums unsquared
/// distances over n - f - 1). Krum outputs the update with the lowest score
/// and flags every other; equal scores go to the lexicographically smaller
/// update, so the choice does not depend on the rows' order. Needs
/// `n > 2f + 2`. Distances come from a Gram `sgemm` of the updates centred
/// on their coordinate-wise median and scaled row by row by powers of two;
/// pairs close against their size are recomputed exactly in double, so
/// that huge, tiny or far-from-the-origin updates keep their order.
public struct Krum: Aggregator {
  /// Pairwise distances or cosines of the updates.
  public static var buildsPairwise: Bool { true }
  /// Selects rows (and flags the others).
  public static var selectsRows: Bool { true }

  public static let descriptor = PluginDescriptor(
    name: "krum", summary: "the update closest to its n - f - 2 nearest neighbours",
    reference:
      "Blanchard et al. 2017, Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent (NeurIPS)",
    parameters: [byzantineSpec], notes: ["needs n > 2f + 2"])

  /// Byzantine updates assumed.
  public let f: Int

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard
      let f = declaredF(
        parameters, context: context, validator: &validator, name: "krum",
        requirement: "n > 2f + 2",
        holds: { n, f in n > 2 * f + 2 })
    else { return nil }
    self.f = f
  }

  /// Creates the rule.
  /// - Parameter f: Byzantine updates assumed.
  public init(f: Int) { self.f = f }

  /// Krum scores from a squared-distance matrix.
  /// - Parameters:
  ///   - distances: `n x n` squared distances.
  ///   - n: number of updates.
  ///   - neighbours: how many nearest others each score sums (`n - f - 2`).
  /// - Returns: one score per update.
  static func scores(_ distances: [Double], n: Int, neighbours: Int) -> [Double] {
    (0..<n).map { i in
      var others = (0..<n).filter { $0 != i }.map { distances[i * n + $0] }
      others.sort()
      return others.prefix(max(0, neighbours)).reduce(0, +)
    }
  }

  /// Checks `n > 2f + 2` for the updates received.
  static func check(_ name: String, n: Int, f: Int) throws(DefenseError) {
    guard n > 2 * f + 2 else {
      throw DefenseError(name, "needs n > 2f + 2, received n = \(n) updates with f = \(f)")
    }
  }

  /// Indices of the `m` lowest scores (ties: the lexicographically smaller
  /// update when `updates` is given, else the lower index).
  static func lowest(_ scores: [Double], _ m: Int, updates: UpdateSet? = nil) -> [Int] {
    Array(
      scores.indices.sorted { i, j in
        if scores[i] != scores[j] { return scores[i] < scores[j] }
        // Equal scores: the lexicographically smaller update, whatever
        // the rows' order (as Bulyan); identical updates by position.
        if let updates, updates.precedes(i, j) != updates.precedes(j, i) {
          return updates.precedes(i, j)
        }
        return i < j
      }
      .prefix(m))
  }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let n = updates.count
    let f = context.effectiveF(self.f)
    try Self.check("krum", n: n, f: f)
    let scores = Self.scores(
      updates.squaredDistances(threads: context.threads), n: n, neighbours: n - f - 2)
    let best = Self.lowest(scores, 1, updates: updates)[0]
    return (
      updates.row(best), DefenseOutcome(flagged: (0..<n).filter { $0 != best }, scores: scores)
    )
  }
}
