/// Label-skewed partition (Hsu, Qi & Brown 2019, "Measuring the Effects of
/// Non-Identical Data Distribution for Federated Visual Classification").
///
/// For each class `c`, proportions `q_c ~ Dir(alpha, ..., alpha)` over the
/// clients; the class's samples (in a seeded random order) are cut at the
/// cumulative proportions, as `np.split(idx, (cumsum(q) * n_c).astype(int)[:-1])`.
/// Small `alpha` gives each client few classes; large `alpha` approaches IID.
/// A client left empty receives one sample from the largest client.
public struct DirichletPartition: Partition {
  public static let descriptor = PluginDescriptor(
    name: "dirichlet",
    summary: "per-class Dirichlet(alpha) label skew across clients",
    reference: "Hsu, Qi & Brown 2019, arXiv:1909.06335",
    parameters: [
      ParameterSpec(
        "alpha", .number(min: 0.001, max: 1e6, minOpen: false, maxOpen: false),
        default: .number(0.5),
        doc: "concentration: small = few classes per client, large = close to IID")
    ])

  /// The concentration.
  public let alpha: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    alpha = parameters.double("alpha") ?? 0.5
  }

  public func assign(labels: [Int32], classes: Int, clients: Int, rng: inout SplitMix64) -> [[Int]]
  {
    var parts = [[Int]](repeating: [], count: clients)
    for c in 0..<classes {
      var members = labels.indices.filter { labels[$0] == Int32(c) }
      rng.shuffle(&members)
      let q = rng.nextDirichlet(alpha: alpha, count: clients)
      var cumulative = 0.0
      var start = 0
      for client in 0..<clients {
        cumulative += q[client]
        let end =
          client == clients - 1
          ? members.count : min(members.count, Int(cumulative * Double(members.count)))
        if end > start { parts[client] += members[start..<end] }
        start = max(start, end)
      }
    }
    fillEmptyClients(&parts)
    return parts
  }
}
