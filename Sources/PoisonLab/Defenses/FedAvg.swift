/// FedAvg: the sample-count-weighted mean of the updates.
///
/// FedAvg aggregation (McMahan et al. 2017): the sample-count-weighted mean
/// `sum_i n_i g_i / sum_i n_i`. No robustness: one huge or non-finite update
/// moves (or breaks) the model, which the run then reports.
public struct FedAvg: Aggregator {
  public static let descriptor = PluginDescriptor(
    name: "fedavg", summary: "sample-count-weighted mean of the updates (no robustness)",
    reference:
      "McMahan et al. 2017, Communication-Efficient Learning of Deep Networks from Decentralized Data"
  )
  public static var propagatesNonFinite: Bool { true }
  public static var secureAggregation: SecureAggregationUse { .sum }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {}

  public init() {}

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let total = updates.weights.reduce(0, +)
    guard updates.count == 0 || (total > 0 && total.isFinite) else {
      throw DefenseError(
        "fedavg",
        "the \(updates.count) updates' sample-count weights sum to \(total); the weighted mean needs a positive, finite total"
      )
    }
    return (updates.weightedMean(), DefenseOutcome())
  }
}
