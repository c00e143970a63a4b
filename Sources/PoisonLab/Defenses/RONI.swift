/// Reject On Negative Impact: a candidate training item is rejected when
/// adding it to a base training set lowers accuracy on a quiz set.
///
/// Nelson, Barreno, Chi, Joseph, Rubinstein, Saini, Sutton, Tygar & Xia
/// 2008, "Exploiting Machine Learning to Subvert Your Spam Filter" (LEET);
/// RONI as formalised in Barreno et al. 2010, "The Security of Machine
/// Learning" (Machine Learning 81).
///
/// Here the candidates are batches of `batch_size` samples of each untrusted
/// source's new data (in arrival order), the base training set is the
/// cycle's trusted data and the quiz set is the trusted validation set:
/// every cycle, the model is trained from the cycle's starting model on the
/// trusted data alone and on the trusted data plus one batch (same shuffling
/// stream); the batch is rejected when it lowers validation accuracy by more
/// than `tolerance`. The paper averages several random base and quiz sets
/// per candidate; this uses one pair, which `provenance` shares, so the two
/// differ only in the unit they judge (a batch, a whole delivery).
public struct RONI: SourceFilter {
  public static let descriptor = PluginDescriptor(
    name: "roni",
    summary:
      "reject on negative impact: train with and without each batch of untrusted data; reject the batches that lower trusted validation accuracy",
    reference:
      "Nelson et al. 2008, Exploiting Machine Learning to Subvert Your Spam Filter (LEET); Barreno et al. 2010, The Security of Machine Learning (Machine Learning 81)",
    parameters: impactTestSpecs + [
      ParameterSpec(
        "batch_size", .integer(min: 1, max: 10_000_000), default: .number(100),
        doc: "samples judged together")
    ],
    notes: ["pipelines only (sources and pipeline blocks), with at least one trusted source"])

  public let validationSize: Int
  public let tolerance: Double
  public let batchSize: Int

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    sourceFilterProblems(
      Self.descriptor.name, needsTrusted: true, parameters: parameters, context: context,
      validator: &validator)
    validationSize = parameters.int("validation_size") ?? 500
    tolerance = parameters.double("tolerance") ?? 0
    batchSize = parameters.int("batch_size") ?? 100
  }

  /// Creates the filter (tests).
  init(validationSize: Int = 500, tolerance: Double = 0, batchSize: Int = 100) {
    self.validationSize = validationSize
    self.tolerance = tolerance
    self.batchSize = batchSize
  }

  public func screen(_ cycle: Screening) -> ScreeningResult {
    var result = ScreeningResult()
    // Every delivery's batches, tested in one impact test.
    var batches: [(source: Int, samples: [Int])] = []
    for delivery in cycle.deliveries {
      var start = 0
      while start < delivery.samples.count {
        let end = min(start + batchSize, delivery.samples.count)
        batches.append((delivery.source, Array(delivery.samples[start..<end])))
        start = end
      }
    }
    guard !batches.isEmpty else { return result }
    let impact = cycle.impact(batches.map(\.samples))
    for (batch, with) in zip(batches, impact.with)
    where with < impact.base - tolerance - 1e-12 {
      result.samples += batch.samples
      if result.sources.last != batch.source { result.sources.append(batch.source) }
    }
    return result
  }
}
