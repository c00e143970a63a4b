/// FLTrust (Cao, Fang, Liu & Gong, NDSS 2021): the server trains on a small
/// clean root dataset and trusts clients in proportion to their agreement
/// with its own update `g_0`.
///
/// `TS_i = ReLU(cos(g_i, g_0))`; each update is rescaled to the server
/// update's norm, `g'_i = g_i |g_0| / |g_i|`; the aggregate is
/// `sum TS_i g'_i / sum TS_i`, and zero when every `TS_i` is 0 (the paper's
/// choice; FLPoison falls back to uniform weights). The root data,
/// `root_size` samples drawn class-proportionally from the training set, is
/// removed from the clients' data; each round the server trains on it from
/// the global model with the clients' local settings. Updates with
/// `TS_i = 0` are flagged; `scores` are the trust scores.
public struct FLTrust: Aggregator {
  public static let descriptor = PluginDescriptor(
    name: "fltrust",
    summary: "trust each update by its cosine with the server's update on clean root data",
    reference:
      "Cao, Fang, Liu & Gong 2021, FLTrust: Byzantine-robust Federated Learning via Trust Bootstrapping (NDSS)",
    parameters: [
      ParameterSpec(
        "root_size", .integer(min: 1, max: 1_000_000), default: .number(100),
        doc: "clean samples the server keeps (class-proportional, removed from the clients' data)")
    ])

  /// Samples of the root dataset.
  public let size: Int
  public var rootSize: Int? { size }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    size = parameters.int("root_size") ?? 100
  }

  /// Creates the rule.
  /// - Parameter rootSize: samples of the root dataset.
  public init(rootSize: Int = 100) { size = rootSize }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    guard let server = context.serverUpdate, server.count == updates.dimension else {
      throw DefenseError(
        "fltrust",
        "needs the server's update on its root data (a scenario computes it; poisonlab aggregate takes --server-update)"
      )
    }
    if let bad = server.firstIndex(where: { !$0.isFinite }) {
      throw DefenseError(
        "fltrust",
        "the server's update holds a non-finite value (\(server[bad]) at index \(bad)); its direction is the trust reference and must be finite"
      )
    }
    let n = updates.count
    let serverNorm = server.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    let norms = updates.norms()
    // Cosines from dot products in double: independent of the updates'
    // sizes (a difference of squared norms cancelled for an update of 1e17).
    let dots = updates.dots(with: server)
    let trust = (0..<n).map { i -> Double in
      let denominator = norms[i] * serverNorm
      guard denominator > 0 else { return 0 }
      return min(1, max(0, dots[i] / denominator))
    }
    let total = trust.reduce(0, +)
    guard total > 0 else {
      return (
        [Float](repeating: 0, count: updates.dimension),
        DefenseOutcome(flagged: Array(0..<n), scores: trust)
      )
    }
    // sum TS_i * (|g0| / |g_i|) g_i / sum TS_i, as one weighted mean.
    let weights = (0..<n).map { norms[$0] > 0 ? trust[$0] * serverNorm / norms[$0] : 0 }
    var aggregate = updates.weightedMean(using: weights)
    let scale = Float(weights.reduce(0, +) / total)
    for j in aggregate.indices { aggregate[j] *= scale }
    return (
      aggregate,
      DefenseOutcome(
        flagged: (0..<n).filter { trust[$0] == 0 },
        downweighted: (0..<n).filter {
          // A cosine of 1 up to rounding is full trust.
          trust[$0] > 0 && (trust[$0] < 1 - 1e-9 || norms[$0] > serverNorm)
        },
        scores: trust)
    )
  }
}
