/// Provenance-based filtering (Baracaldo, Chen, Ludwig & Safavi, AISec
/// 2017): data that shares a provenance signature is tested as one segment;
/// a segment whose inclusion makes the model worse on trusted data is
/// poisoned.
///
/// Here a segment is one untrusted source's delivery in a cycle (the
/// paper's partially trusted setting: the provenance signature is the
/// source). Every cycle, for every untrusted source, the cycle's model is
/// trained twice from the same starting model with the same shuffling
/// stream: on the cycle's trusted data alone, and on the trusted data plus
/// that source's new data. When including the source lowers accuracy on the
/// trusted validation set by more than `tolerance`, its delivery is
/// rejected (`reject: "delivery"`), or the source is shut out from then on
/// (`reject: "source"`). Each untrusted source is compared with the trusted
/// baseline on its own, so two poisoned sources cannot mask each other, as
/// they would in a leave-one-out test.
public struct Provenance: SourceFilter {
  public static let descriptor = PluginDescriptor(
    name: "provenance",
    summary:
      "per cycle, train with and without each untrusted source's new data; reject it when it lowers trusted validation accuracy",
    reference:
      "Baracaldo, Chen, Ludwig & Safavi 2017, Mitigating Poisoning Attacks on Machine Learning Models: A Data Provenance Based Approach (AISec)",
    parameters: impactTestSpecs + [
      ParameterSpec(
        "reject", .choice(["delivery", "source"]), default: .string("delivery"),
        doc:
          "delivery: reject the cycle's data of the source; source: shut the source out from then on"
      )
    ],
    notes: ["pipelines only (sources and pipeline blocks), with at least one trusted source"])

  public let validationSize: Int
  public let tolerance: Double
  public let banSources: Bool

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    sourceFilterProblems(
      Self.descriptor.name, needsTrusted: true, parameters: parameters, context: context,
      validator: &validator)
    validationSize = parameters.int("validation_size") ?? 500
    tolerance = parameters.double("tolerance") ?? 0
    banSources = parameters.string("reject") == "source"
  }

  /// Creates the filter (tests).
  init(validationSize: Int = 500, tolerance: Double = 0, banSources: Bool = false) {
    self.validationSize = validationSize
    self.tolerance = tolerance
    self.banSources = banSources
  }

  public func screen(_ cycle: Screening) -> ScreeningResult {
    var result = ScreeningResult()
    let tested = cycle.deliveries.filter { !$0.samples.isEmpty }
    guard !tested.isEmpty else { return result }
    let impact = cycle.impact(tested.map(\.samples))
    for (delivery, with) in zip(tested, impact.with) {
      if with < impact.base - tolerance - 1e-12 {
        result.samples += delivery.samples
        result.sources.append(delivery.source)
        if banSources { result.banned.append(delivery.source) }
      }
    }
    return result
  }
}
