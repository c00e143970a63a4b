/// The unweighted mean of the updates.
///
/// The unweighted mean `(1/n) sum_i g_i`. No robustness.
public struct Mean: Aggregator {
  public static let descriptor = PluginDescriptor(
    name: "mean", summary: "unweighted mean of the updates (no robustness)",
    reference: "No paper: the plain mean, the baseline every robust rule is compared with")
  public static var propagatesNonFinite: Bool { true }
  public static var secureAggregation: SecureAggregationUse { .sum }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {}

  public init() {}

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    (updates.weightedMean(using: [Double](repeating: 1, count: updates.count)), DefenseOutcome())
  }
}
