/// FLAME (Nguyen et al., USENIX Security 2022).
///
/// 1. Filtering: HDBSCAN (``HDBSCAN``) on the pairwise cosine distances
///    `1 - cos(g_i, g_j)` of the round's updates, `min_cluster_size = n/2 + 1`,
///    `min_samples = 1`, a single cluster allowed; updates labelled noise are
///    rejected. (The paper clusters the local models; with every client
///    starting from the same global model this compares the updates, as
///    reference re-implementations do.)
/// 2. Adaptive clipping: `S = median_i |g_i|` over all `n` updates (in
///    float32, in double when it exceeds float32's range); each admitted
///    update becomes `g_i min(1, S / |g_i|)`.
/// 3. Aggregation: the plain mean of the clipped admitted updates.
/// 4. Adaptive noise: `N(0, (noise_lambda S)^2)` added to every coordinate
///    of the aggregate; `noise_lambda` defaults to the paper's 0.001 for image
///    classification.
/// Flagged: the rejected updates; scores: the HDBSCAN label (-1 = noise).
/// With fewer than 3 updates nothing is filtered.
public struct Flame: Aggregator {
  /// Pairwise distances or cosines of the updates.
  public static var buildsPairwise: Bool { true }
  public static let descriptor = PluginDescriptor(
    name: "flame",
    summary: "HDBSCAN on cosine distances, median-norm clipping, then adaptive Gaussian noise",
    reference:
      "Nguyen et al. 2022, FLAME: Taming Backdoors in Federated Learning (USENIX Security)",
    parameters: [
      ParameterSpec(
        "noise_lambda", .number(atLeast: 0), default: .number(0.001),
        doc: "noise std as a multiple of the median update norm")
    ])

  /// Noise std as a multiple of the clipping bound.
  public let noiseLambda: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    noiseLambda = parameters.double("noise_lambda") ?? 0.001
  }

  /// Creates the rule.
  /// - Parameter noiseLambda: noise std as a multiple of the median norm.
  public init(noiseLambda: Double = 0.001) { self.noiseLambda = noiseLambda }

  /// The admitted rows: the HDBSCAN labels of the cosine distances.
  /// - Parameter updates: the round's updates.
  /// - Returns: one label per row, -1 for rejected.
  public static func clusterLabels(_ updates: UpdateSet) -> [Int] {
    let n = updates.count
    guard n >= 3 else { return [Int](repeating: 0, count: n) }
    let distances = updates.cosineSimilarities().map { max(0, 1 - $0) }
    return HDBSCAN.labels(
      distances: distances, n: n, minClusterSize: n / 2 + 1, minSamples: 1,
      allowSingleCluster: true)
  }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let n = updates.count
    let d = updates.dimension
    guard n > 0 else { throw DefenseError("flame", "no updates to aggregate") }
    let labels = Self.clusterLabels(updates)
    let admitted = (0..<n).filter { labels[$0] >= 0 }
    guard !admitted.isEmpty else {
      throw DefenseError("flame", "HDBSCAN labelled all \(n) updates as noise")
    }
    let norms = updates.norms()
    var sorted = norms.map(Float.init)
    var bound = Double(sorted.withUnsafeMutableBufferPointer { Selection.median($0) })
    if !bound.isFinite {
      // Norms beyond float32's range (coordinates near its limit): the
      // median of the double norms, a finite bound. (The mean and its noise
      // may still exceed float32's range: then the aggregate is not finite.)
      let exact = norms.sorted()
      bound = n % 2 == 1 ? exact[n / 2] : exact[n / 2 - 1] / 2 + exact[n / 2] / 2
    }
    var sum = [Double](repeating: 0, count: d)
    for i in admitted {
      let scale = norms[i] > bound ? bound / norms[i] : 1
      for j in 0..<d { sum[j] += Double(updates.values[i * d + j]) * scale }
    }
    var rng = context.rng
    let std = noiseLambda * bound
    let aggregate = sum.map { value in
      Float(value / Double(admitted.count) + (std > 0 ? rng.nextGaussian() * std : 0))
    }
    return (
      aggregate,
      DefenseOutcome(
        flagged: (0..<n).filter { labels[$0] < 0 },
        downweighted: admitted.filter { norms[$0] > bound },
        scores: labels.map(Double.init))
    )
  }
}
