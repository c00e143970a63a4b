/// Coordinate-wise trimmed mean.
///
/// Coordinate-wise trimmed mean (Yin et al., ICML 2018): per coordinate,
/// drop the `f` largest and `f` smallest values and average the `n - 2f`
/// others. Needs `n > 2f`. (ByzFL's definition; Flower and FLPoison trim a
/// fraction instead, which breaks the guarantee when f/n exceeds it.)
public struct TrimmedMean: Aggregator {
  public static let descriptor = PluginDescriptor(
    name: "trimmed-mean", summary: "coordinate-wise mean after trimming f largest and f smallest",
    reference:
      "Yin et al. 2018, Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates (ICML)",
    parameters: [byzantineSpec], notes: ["needs n > 2f"])

  /// Values trimmed at each end.
  public let f: Int

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard
      let f = declaredF(
        parameters, context: context, validator: &validator, name: "trimmed-mean",
        requirement: "n > 2f",
        holds: { n, f in n > 2 * f })
    else { return nil }
    self.f = f
  }

  /// Creates the rule.
  /// - Parameter f: values trimmed at each end.
  public init(f: Int) { self.f = f }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let f = context.effectiveF(self.f)
    guard updates.count > 2 * f else {
      throw DefenseError(
        "trimmed-mean", "needs n > 2f, received n = \(updates.count) updates with f = \(f)")
    }
    let aggregate =
      updates.count <= ColumnSort.maxRows
      ? ColumnSort.trimmedMean(updates, trim: f, threads: context.threads)
      : updates.coordinateWise(threads: context.threads) { Selection.trimmedMean($0, trim: f) }
    return (aggregate, DefenseOutcome())
  }
}
