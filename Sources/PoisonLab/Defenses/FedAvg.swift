/// FedAvg: the sample-count-weighted mean of the updates.
///
/// FedAvg aggregation (McMahan et al. 2017): the sample-count-weighted mean
/// `sum_i n_i g_i / sum_i n_i`. No robustness: one huge or non-finite update
/// moves (or breaks) the model, which the run then reports. When every
/// update reports 0 samples no update has weight and the aggregate is the
/// zero update (the model stays), as a secure-aggregation round whose
/// clients all report 0 samples is skipped: attackers reporting 0 samples
/// cannot stop a run.
public struct FedAvg: Aggregator {
  public static let readsWeights = true
  public static let descriptor = PluginDescriptor(
    name: "fedavg", summary: "sample-count-weighted mean of the updates (no robustness)",
    reference:
      "McMahan et al. 2017, Communication-Efficient Learning of Deep Networks from Decentralized Data",
    notes: [
      "updates that all report 0 samples have no weight: the aggregate is the zero update (the model stays)"
    ])
  public static var propagatesNonFinite: Bool { true }
  public static var secureAggregation: SecureAggregationUse { .sum }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {}

  public init() {}

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let total = updates.weights.reduce(0, +)
    if updates.count > 0 && total == 0 {
      return ([Float](repeating: 0, count: updates.dimension), DefenseOutcome())
    }
    guard updates.count == 0 || (total > 0 && total.isFinite) else {
      throw DefenseError(
        "fedavg",
        "the \(updates.count) updates' sample-count weights sum to \(total); the weighted mean needs a positive, finite total"
      )
    }
    return (updates.weightedMean(), DefenseOutcome())
  }
}
