/// Nearest-neighbour mixing (NNM).
///
/// Nearest-neighbour mixing (Allouah et al., AISTATS 2023, "Fixing by
/// Mixing"): every update is replaced by the mean of its `n - f` nearest
/// updates (itself included), by squared Euclidean distance from a Gram
/// `sgemm` of the centred, scaled updates. Rows keep their owner and weight; nothing is rejected.
public struct NearestNeighborMixing: UpdateFilter {
  /// Pairwise distances or cosines of the updates.
  public static var buildsPairwise: Bool { true }
  public static let descriptor = PluginDescriptor(
    name: "nnm", summary: "replace each update by the mean of its n - f nearest updates",
    reference:
      "Allouah et al. 2023, Fixing by Mixing: A Recipe for Optimal Byzantine ML under Heterogeneity (AISTATS)",
    parameters: [byzantineSpec], notes: ["needs n > f"])

  /// Byzantine updates assumed.
  public let f: Int

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard
      let f = declaredF(
        parameters, context: context, validator: &validator, name: "nnm", requirement: "n > f",
        holds: { n, f in n > f })
    else { return nil }
    self.f = f
  }

  /// Creates the filter.
  /// - Parameter f: Byzantine updates assumed.
  public init(f: Int) { self.f = f }

  public mutating func filter(
    _ updates: inout UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> DefenseOutcome {
    let n = updates.count
    let f = context.effectiveF(self.f)
    guard n > f else {
      throw DefenseError("nnm", "needs n > f, received n = \(n) updates with f = \(f)")
    }
    let distances = updates.squaredDistances(threads: context.threads)
    var mixed = [Float](repeating: 0, count: n * updates.dimension)
    for i in 0..<n {
      let nearest = (0..<n).sorted {
        distances[i * n + $0] < distances[i * n + $1]
          || (distances[i * n + $0] == distances[i * n + $1] && $0 < $1)
      }.prefix(n - f)
      var weights = [Double](repeating: 0, count: n)
      for j in nearest { weights[j] = 1 }
      let mean = updates.weightedMean(using: weights)
      mixed.replaceSubrange((i * updates.dimension)..<((i + 1) * updates.dimension), with: mean)
    }
    updates.replace(values: mixed, count: n, weights: updates.weights, owners: updates.owners)
    return DefenseOutcome()
  }
}
