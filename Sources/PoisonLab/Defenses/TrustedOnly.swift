/// The trusted-only baseline: train on the trusted sources' data only.
///
/// What restricting a retraining workflow to trusted input sources costs
/// and buys: no untrusted data can poison the model, and none can improve
/// it. Every untrusted delivery counts as rejected, so its detection
/// precision is the share of untrusted deliveries that were poisoned, and
/// its recall is 1.
public struct TrustedOnly: SourceFilter {
  public static let descriptor = PluginDescriptor(
    name: "trusted-only",
    summary: "the baseline of training only on the trusted sources' data",
    reference:
      "No paper: the controlled retraining baseline (restrict untrusted input sources); compare with provenance and roni",
    parameters: [],
    notes: ["pipelines only (sources and pipeline blocks), with at least one trusted source"])

  public var usesUntrusted: Bool { false }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    sourceFilterProblems(
      Self.descriptor.name, needsTrusted: true, parameters: parameters, context: context,
      validator: &validator)
  }

  /// Creates the baseline (tests).
  init() {}

  public func screen(_ cycle: Screening) -> ScreeningResult {
    // A source that delivered nothing this cycle had nothing rejected.
    let delivered = cycle.deliveries.filter { !$0.samples.isEmpty }
    return ScreeningResult(
      samples: delivered.flatMap(\.samples), sources: delivered.map(\.source))
  }
}
