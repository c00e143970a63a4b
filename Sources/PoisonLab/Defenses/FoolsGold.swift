#if canImport(Glibc)
import Glibc
#endif

/// FoolsGold (Fung, Yoon & Beschastnikh, RAID 2020): sybils that push the
/// same objective send similar updates over time, so clients whose update
/// histories are too similar to another's are down-weighted.
///
/// Each update `g_i` is first scaled to norm 1 when its norm exceeds 1
/// (`u_i = g_i / max(1, |g_i|)`, the official code's normalisation; the
/// paper's Algorithm 1 omits it). Per round, each client's history `H_i`
/// (the sum of its `u_i` so far, kept across rounds by client id) gives
/// pairwise cosine similarities
/// less the identity, `cs = cos(H_i, H_j) - I`, as the official code
/// computes them (a nonzero history's own entry is 0, so `v_i >= 0` and
/// pardoning never flips a similarity's sign); with `v_i = max_j cs_ij`:
/// 1. pardoning: `cs_ij *= v_i / v_j` when `v_i < v_j`;
/// 2. `w_i = 1 - max_j cs_ij`, clipped to [0, 1], divided by `max w`, and
///    values of 1 set to 0.99;
/// 3. logit: `w_i = ln(w_i / (1 - w_i)) + 0.5`, clipped to [0, 1].
/// The aggregate is the weighted sum `sum w_i u_i`, as the paper's
/// Algorithm 1 and the official code return it (zero when every weight is
/// 0); clients with `w_i = 0` are flagged and `scores` are the weights.
/// The paper's clients send SGD gradients; a FedAvg update is a whole local
/// training's progress, and the sum of n of them is a step n times as long,
/// so `combine: "mean"` divides by `sum w_i` instead (the weighted mean of
/// the same normalised updates, as FedAvg averages). Similarity uses the
/// whole update history (the paper's optional indicative-feature weighting
/// of the output layer is not applied); rows mixed by an earlier filter
/// have no history and use their own update.
public struct FoolsGold: Aggregator {
  /// Pairwise distances or cosines of the updates.
  public static var buildsPairwise: Bool { true }
  public static let descriptor = PluginDescriptor(
    name: "foolsgold",
    summary: "down-weight clients whose update histories are too similar (sybils)",
    reference:
      "Fung, Yoon & Beschastnikh 2020, The Limitations of Federated Learning in Sybil Settings (RAID)",
    parameters: [
      ParameterSpec(
        "combine", .choice(["sum", "mean"]), default: .string("sum"),
        doc:
          "sum: the paper's weighted sum of the normalised updates; mean: divided by the weights' sum, as FedAvg averages"
      )
    ])

  /// Summed updates per client id, across rounds.
  private var history: [Int: [Float]] = [:]
  public var stateAcrossRounds: String? { "foolsgold's history of each client's updates" }
  /// Divide the weighted sum by the weights' sum.
  public let averages: Bool

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    averages = parameters.string("combine") == "mean"
  }

  /// Creates the rule with empty histories.
  /// - Parameter averages: return the weighted mean instead of the weighted sum.
  public init(averages: Bool = false) { self.averages = averages }

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
    // u_i = g_i / max(1, |g_i|).
    var unit = updates.values
    for (i, length) in updates.norms().enumerated() where length > 1 {
      for j in (i * d)..<((i + 1) * d) { unit[j] = Float(Double(unit[j]) / length) }
    }
    let normalized = UpdateSet(values: unit, count: n, dimension: d)
    var features = [Float](repeating: 0, count: n * d)
    for i in 0..<n {
      let row = normalized.row(i)
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
    let aggregate = averages ? normalized.weightedMean(using: w) : normalized.weightedSum(w)
    return (
      aggregate,
      DefenseOutcome(
        flagged: (0..<n).filter { w[$0] == 0 },
        downweighted: (0..<n).filter { w[$0] > 0 && w[$0] < 1 },
        scores: w)
    )
  }
}
