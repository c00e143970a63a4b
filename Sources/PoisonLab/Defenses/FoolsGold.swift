#if canImport(Glibc)
import Glibc
#endif

/// FoolsGold (Fung, Yoon & Beschastnikh, RAID 2020): sybils that push the
/// same objective send similar updates over time, so clients whose update
/// histories are too similar to another's are down-weighted.
///
/// Per round, each client's history `H_i` (the sum of its updates so far,
/// kept across rounds by client id) gives pairwise cosine similarities
/// less the identity, `cs = cos(H_i, H_j) - I`, as the official code
/// computes them (a nonzero history's own entry is 0, so `v_i >= 0` and
/// pardoning never flips a similarity's sign); with `v_i = max_j cs_ij`:
/// 1. pardoning: `cs_ij *= v_i / v_j` when `v_i < v_j`;
/// 2. `w_i = 1 - max_j cs_ij`, clipped to [0, 1], divided by `max w`, and
///    values of 1 set to 0.99;
/// 3. logit: `w_i = ln(w_i / (1 - w_i)) + 0.5`, clipped to [0, 1].
/// The aggregate is the weighted mean `sum w_i g_i / sum w_i` (zero when
/// every weight is 0); clients with `w_i = 0` are flagged and `scores` are
/// the weights. Similarity uses the whole update history (the paper's
/// optional indicative-feature weighting of the output layer is not applied);
/// rows mixed by an earlier filter have no history and use their own update.
public struct FoolsGold: Aggregator {
  /// Pairwise distances or cosines of the updates.
  public static var buildsPairwise: Bool { true }
  public static let descriptor = PluginDescriptor(
    name: "foolsgold",
    summary: "down-weight clients whose update histories are too similar (sybils)",
    reference:
      "Fung, Yoon & Beschastnikh 2020, The Limitations of Federated Learning in Sybil Settings (RAID)"
  )

  /// Summed updates per client id, across rounds.
  private var history: [Int: [Float]] = [:]

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {}

  /// Creates the rule with empty histories.
  public init() {}

  /// FoolsGold's weights from a matrix of cosine similarities.
  /// - Parameter cs: `n x n` similarities (diagonal 1 for a nonzero
  ///   history, 0 for a zero one; the identity is subtracted here).
  /// - Returns: one weight in [0, 1] per client.
  public static func weights(similarities cs: [[Double]]) -> [Double] {
    let n = cs.count
    guard n > 1 else { return [Double](repeating: 1, count: n) }
    var cs = cs
    for i in 0..<n { cs[i][i] -= 1 }
    let v = cs.map { $0.max() ?? 0 }
    for i in 0..<n {
      for j in 0..<n where i != j && v[i] < v[j] { cs[i][j] *= v[i] / v[j] }
    }
    var w = cs.map { min(1, max(0, 1 - ($0.max() ?? 0))) }
    let top = w.max() ?? 0
    if top > 0 { w = w.map { $0 / top } }
    return w.map { value in
      let clipped = value == 1 ? 0.99 : value
      guard clipped > 0 else { return 0 }
      return min(1, max(0, log(clipped / (1 - clipped)) + 0.5))
    }
  }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let n = updates.count
    let d = updates.dimension
    var features = [Float](repeating: 0, count: n * d)
    for i in 0..<n {
      let row = updates.row(i)
      let id = i < context.clients.count ? context.clients[i] : -1
      var summed = row
      if id >= 0 {
        if let past = history[id] { for j in 0..<d { summed[j] += past[j] } }
        history[id] = summed
      }
      features.replaceSubrange((i * d)..<((i + 1) * d), with: summed)
    }
    let set = UpdateSet(values: features, count: n, dimension: d)
    let flat = set.cosineSimilarities()
    let cs: [[Double]] = (0..<n).map { i in Array(flat[(i * n)..<((i + 1) * n)]) }
    let w = Self.weights(similarities: cs)
    let aggregate =
      w.reduce(0, +) > 0 ? updates.weightedMean(using: w) : [Float](repeating: 0, count: d)
    return (aggregate, DefenseOutcome(flagged: (0..<n).filter { w[$0] == 0 }, scores: w))
  }
}
