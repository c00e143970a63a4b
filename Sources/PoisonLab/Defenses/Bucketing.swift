/// Bucketing: average random buckets of updates.
///
/// Bucketing (Karimireddy, He & Jaggi, ICLR 2022): the updates, in a
/// seeded random order, are cut into buckets of `size` (the last may be
/// smaller) and each bucket is replaced by its mean; the aggregator then sees
/// `ceil(n / size)` bucket means. A bucket's weight is its members' total.
public struct Bucketing: UpdateFilter {
  public static let descriptor = PluginDescriptor(
    name: "bucketing", summary: "average random buckets of size updates before aggregating",
    reference:
      "Karimireddy, He & Jaggi 2022, Byzantine-Robust Learning on Heterogeneous Datasets via Bucketing (ICLR)",
    parameters: [
      ParameterSpec(
        "size", .integer(min: 1, max: 100_000), default: .number(2), doc: "updates per bucket")
    ])

  /// Updates per bucket.
  public let size: Int

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    size = parameters.int("size") ?? 2
  }

  /// Creates the filter.
  /// - Parameter size: updates per bucket.
  public init(size: Int) { self.size = size }

  public mutating func filter(
    _ updates: inout UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> DefenseOutcome {
    var rng = context.rng
    var order = Array(0..<updates.count)
    rng.shuffle(&order)
    let buckets = stride(from: 0, to: order.count, by: size).map {
      Array(order[$0..<min($0 + size, order.count)])
    }
    var values: [Float] = []
    values.reserveCapacity(buckets.count * updates.dimension)
    for bucket in buckets {
      var weights = [Double](repeating: 0, count: updates.count)
      for i in bucket { weights[i] = 1 }
      values += updates.weightedMean(using: weights)
    }
    updates.replace(
      values: values, count: buckets.count,
      weights: buckets.map { $0.reduce(0) { $0 + updates.weights[$1] } },
      owners: buckets.map { $0.flatMap { updates.owners[$0] }.sorted() })
    return DefenseOutcome()
  }
}
