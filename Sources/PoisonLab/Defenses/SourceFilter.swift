/// A defense of a retraining pipeline (`pipeline` with `sources`): it
/// decides, every cycle, which data from the untrusted sources the model may
/// train on, before training.
///
/// Impact tests measure accuracy on a trusted validation set of
/// `validation_size` samples carved from the trusted sources
/// (class-proportional, stream `("provenance")`, never trained on).
public protocol SourceFilter: Defense {
  /// Trusted samples held out for the impact test (0: none).
  var validationSize: Int { get }
  /// Whether untrusted data may be used at all (trusted-only: no).
  var usesUntrusted: Bool { get }
  /// Screens one cycle's untrusted deliveries.
  /// - Parameter cycle: the deliveries and the impact test.
  /// - Returns: what is rejected.
  func screen(_ cycle: Screening) -> ScreeningResult
}

extension SourceFilter {
  public var validationSize: Int { 0 }
  public var usesUntrusted: Bool { true }
}

/// What a source filter works on in one cycle.
public struct Screening {
  /// The untrusted deliveries: the source's index and its new samples.
  public var deliveries: [(source: Int, samples: [Int])]
  /// The impact test of a set of candidates.
  ///
  /// It trains the cycle's model on its trusted data alone (`base`) and on
  /// its trusted data plus each candidate's samples (`with`, in order),
  /// every fit from the same starting model with the same shuffling
  /// stream, and returns their validation accuracies. The fits are
  /// independent, so they may run in parallel; the result does not depend
  /// on how.
  public var impact: ([[Int]]) -> (base: Double, with: [Double])
}

/// What a source filter rejected in one cycle.
public struct ScreeningResult: Sendable, Equatable {
  /// Rejected samples.
  public var samples: [Int] = []
  /// Sources with rejected data this cycle (their delivery is flagged).
  public var sources: [Int] = []
  /// Sources shut out from now on (their later deliveries are dropped).
  public var banned: [Int] = []
}

/// The `validation_size` and `tolerance` keys of the impact tests.
let impactTestSpecs = [
  ParameterSpec(
    "validation_size", .integer(min: 10, max: 10_000_000), default: .number(500),
    doc: "trusted samples held out to measure each impact (class-proportional, never trained on)"),
  ParameterSpec(
    "tolerance", .number(min: 0, max: 1, minOpen: false, maxOpen: false), default: .number(0),
    doc: "reject data whose inclusion lowers validation accuracy by more than this"),
]

/// Refuses a source filter outside a pipeline, or one that needs trusted data without any.
func sourceFilterProblems(
  _ name: String, needsTrusted: Bool, parameters: Parameters, context: ScenarioContext,
  validator: inout SchemaValidator
) {
  if !context.pipeline {
    validator.fail(
      parameters.path("name"),
      "\"\(name)\" screens the data of a retraining pipeline; add sources and a pipeline block")
  } else if needsTrusted && context.trustedSources == 0 {
    validator.fail(
      parameters.path("name"),
      "\"\(name)\" measures impact on data from a trusted source; mark at least one source \"trust\": \"trusted\""
    )
  }
}
