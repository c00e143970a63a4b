/// Coordinate-wise median of the updates.
///
/// Coordinate-wise median (Yin, Chen, Ramchandran & Bartlett, ICML 2018):
/// `agg_j = median_i g_ij`; for an even count, the mean of the two middle
/// values (as numpy). Computed sixteen coordinates at a time by a sorting
/// network (``ColumnSort``; quickselect per coordinate beyond 256
/// updates), in parallel over coordinates.
/// It flags no update (no update is rejected as a whole), except non-finite
/// ones, which the chain rejects first.
public struct CoordinateMedian: Aggregator {
  public static let descriptor = PluginDescriptor(
    name: "median", summary: "coordinate-wise median",
    reference:
      "Yin et al. 2018, Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates (ICML)"
  )

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {}

  public init() {}

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    guard updates.count > 0 else { throw DefenseError("median", "no update to aggregate") }
    let aggregate =
      updates.count <= ColumnSort.maxRows
      ? ColumnSort.median(updates, threads: context.threads)
      : updates.coordinateWise(threads: context.threads) { Selection.median($0) }
    return (aggregate, DefenseOutcome())
  }
}
