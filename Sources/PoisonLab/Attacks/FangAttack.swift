/// Fang et al.'s local model poisoning attacks (USENIX Security 2020), full
/// knowledge, in update space (the global model is the reference).
///
/// `s_j = sign(mean_j)` of the benign updates estimates the direction the
/// coordinate would move without attack (0 counts as +1); `b = 2`.
///
/// - Against `trimmed-mean` and `median`: each attacker samples, per
///   coordinate, uniformly in `[w_max, b w_max]` (or `[w_max, w_max / b]` when
///   `w_max <= 0`) if `s_j = -1`, and in `[w_min / b, w_min]` (or
///   `[b w_min, w_min]` when `w_min <= 0`) if `s_j = +1`, with `w_max`,
///   `w_min` the benign extremes.
/// - Against `krum`: all attackers send `-lambda s`, with `lambda` halved
///   from the paper's upper bound until Krum (assuming f = the attackers)
///   picks a malicious update or `lambda < 1e-5`.
public struct FangAttack: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "fang", summary: "full-knowledge attack tailored to trimmed-mean, median or krum",
    reference:
      "Fang, Cao, Jia & Gong 2020, Local Model Poisoning Attacks to Byzantine-Robust Federated Learning (USENIX Security)",
    parameters: [
      ParameterSpec(
        "against", .choice(["trimmed-mean", "median", "krum"]), default: .string("trimmed-mean"),
        doc: "the aggregation rule attacked")
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The rule attacked.
  public let against: String

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("fang", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    against = parameters.string("against") ?? "trimmed-mean"
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    let benign = view.benign
    let d = view.dimension
    guard benign.count > 0 else { return [Float](repeating: 0, count: view.attackers * d) }
    let mean = view.benignMoments().mean
    let s: [Float] = mean.map { $0 < 0 ? -1 : 1 }
    if against == "krum" { return krum(view, s: s) }
    var low = [Float](repeating: .infinity, count: d)
    var high = [Float](repeating: -.infinity, count: d)
    for i in 0..<benign.count {
      for j in 0..<d {
        low[j] = min(low[j], benign.values[i * d + j])
        high[j] = max(high[j], benign.values[i * d + j])
      }
    }
    let b: Float = 2
    var out = [Float](repeating: 0, count: view.attackers * d)
    for a in 0..<view.attackers {
      for j in 0..<d {
        let (from, to): (Float, Float)
        if s[j] < 0 {
          (from, to) = high[j] > 0 ? (high[j], b * high[j]) : (high[j], high[j] / b)
        } else {
          (from, to) = low[j] > 0 ? (low[j] / b, low[j]) : (b * low[j], low[j])
        }
        out[a * d + j] = from + (to - from) * rng.nextUnitFloat()
      }
    }
    return out
  }

  private func krum(_ view: AttackView, s: [Float]) -> [Float] {
    let benign = view.benign
    let m = benign.count + view.attackers
    let c = view.attackers
    let d = Double(view.dimension)
    let pairwise = benign.squaredDistances().map { $0.squareRoot() }
    let n = benign.count
    let minSum = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + pairwise[i * n + $1] } }.min() ?? 0
    let maxNorm = benign.norms().max() ?? 0
    var lambda =
      (m - 2 * c - 1 > 0 ? minSum / (Double(m - 2 * c - 1) * d) : 0) + maxNorm / d.squareRoot()
    while lambda >= 1e-5 {
      let candidate = s.map { -Float(lambda) * $0 }
      var rows = benign.values
      for _ in 0..<c { rows += candidate }
      let all = UpdateSet(values: rows, count: m, dimension: view.dimension)
      let scores = Krum.scores(all.squaredDistances(), n: m, neighbours: m - c - 2)
      if Krum.lowest(scores, 1)[0] >= n { return view.repeated(candidate) }
      lambda /= 2
    }
    return view.repeated(s.map { -Float(lambda) * $0 })
  }
}
