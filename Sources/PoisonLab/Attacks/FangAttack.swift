/// Fang et al.'s local model poisoning attacks (USENIX Security 2020), in
/// update space (the global model is the reference).
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
///   from the paper's upper bound (Section 4.2: the smallest sum of a
///   benign update's distances to its `m - c - 2` nearest benign updates,
///   over `(m - 2c - 1) sqrt d`, plus the largest benign update norm over
///   `sqrt d`) until Krum (assuming f = the attackers) picks a malicious
///   update or `lambda < 1e-5`.
///
/// With `knowledge: own` (the paper's partial knowledge) the attackers know
/// only their own before-attack updates:
///
/// - against `trimmed-mean` and `median`, from their mean `mu_j` and
///   population std `sigma_j`, each attacker sends per coordinate
///   `mu_j - s_j sigma_j (3 + u)`, `u ~ U(0, 1)`, `s_j = sign(mu_j)`: values
///   in `[mu_j + 3 sigma_j, mu_j + 4 sigma_j]` when `s_j = -1`, in
///   `[mu_j - 4 sigma_j, mu_j - 3 sigma_j]` when `s_j = +1` (the official
///   code's `partial_trim`);
/// - against `krum`, the search above treats the attackers' own updates as
///   the benign ones (Krum over those `c` and the `c` crafted ones), as the
///   paper's partial-knowledge Krum attack does.
///
/// Partial knowledge needs at least 2 attackers (3 against krum; refused
/// below). In a round that selects fewer, the estimate has no spread
/// (one attacker sends its own update) or Krum has no neighbours to count
/// (lambda falls below 1e-5: an update near zero).
public struct FangAttack: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "fang",
    summary: "attack tailored to trimmed-mean, median or krum (full or partial knowledge)",
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
    // Partial knowledge estimates from the attackers' own updates: one has
    // no spread, and Krum over 2c rows needs c - 2 >= 1 neighbours.
    let least = against == "krum" ? 3 : 2
    let count = parameters.int("clients") ?? parameters.ints("client_ids")?.count
    if knowledge == .own, let count, count < least {
      validator.fail(
        parameters.path(parameters.int("clients") != nil ? "clients" : "client_ids"),
        "fang with knowledge own estimates from the attackers' own updates and needs at least \(least) attackers against \(against), got \(count)"
      )
      return nil
    }
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    let benign = view.benign
    let d = view.dimension
    guard benign.count > 0 else { return [Float](repeating: 0, count: view.attackers * d) }
    let mean = view.benignMoments().mean
    let s: [Float] = mean.map { $0 < 0 ? -1 : 1 }
    if against == "krum" { return krum(view, s: s) }
    if knowledge == .own { return partialTrim(view, s: s, rng: &rng) }
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

  /// The partial-knowledge attack on trimmed-mean and median: `mu - s
  /// sigma (3 + u)` from the attackers' own updates, `u` drawn per attacker
  /// and coordinate.
  private func partialTrim(_ view: AttackView, s: [Float], rng: inout SplitMix64) -> [Float] {
    let (mu, sigma) = view.benignMoments()
    let d = view.dimension
    var out = [Float](repeating: 0, count: view.attackers * d)
    for a in 0..<view.attackers {
      for j in 0..<d {
        out[a * d + j] = mu[j] - s[j] * sigma[j] * (3 + rng.nextUnitFloat())
      }
    }
    return out
  }

  /// The paper's upper bound on `lambda` against Krum (Fang et al. 2020,
  /// Section 4.2): `min_i sum_{l in G_i} D(w_l, w_i) / ((m - 2c - 1) sqrt d)
  /// + max_i D(w_i, w_Re) / sqrt d`, with `G_i` the `m - c - 2` benign
  /// updates nearest to benign update `i` and `D(w_i, w_Re)` its norm (the
  /// distance to the global model it started from).
  /// - Parameters:
  ///   - distances: the benign updates' pairwise distances, `n x n` row-major.
  ///   - norms: the benign updates' norms.
  ///   - m: clients of the round (benign and attackers).
  ///   - c: attackers.
  ///   - dimension: `d`.
  /// - Returns: the bound.
  static func krumBound(distances: [Double], norms: [Double], m: Int, c: Int, dimension: Int)
    -> Double
  {
    let n = norms.count
    let root = Double(dimension).squareRoot()
    let nearest = max(0, min(n - 1, m - c - 2))
    let sums = (0..<n).map { i in
      (0..<n).filter { $0 != i }.map { distances[i * n + $0] }.sorted().prefix(nearest)
        .reduce(0, +)
    }
    let first = m - 2 * c - 1 > 0 ? (sums.min() ?? 0) / (Double(m - 2 * c - 1) * root) : 0
    return first + (norms.max() ?? 0) / root
  }

  private func krum(_ view: AttackView, s: [Float]) -> [Float] {
    let benign = view.benign
    let m = benign.count + view.attackers
    let c = view.attackers
    let n = benign.count
    var lambda = Self.krumBound(
      distances: benign.squaredDistances().map { $0.squareRoot() }, norms: benign.norms(), m: m,
      c: c, dimension: view.dimension)
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
