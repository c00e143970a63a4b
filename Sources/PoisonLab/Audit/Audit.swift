/// A model audit (`audit.name`): inspects a trained model with clean data
/// the defender holds, after training or on a saved model (`poisonlab
/// audit`).
///
/// The defender's data: `clean_size` samples drawn from the clean test set,
/// class-proportionally (stream `("audit")`); what the audit reports is
/// measured on the other test samples and, when the scenario has a
/// backdoor, on the triggered inputs made from them.
public protocol AuditMethod: Plugin {
  /// Clean test samples the defender holds (`clean_size`).
  var cleanSize: Int { get }

  /// Whether the scenario gave `clean_size` (a default larger than half a
  /// small test set is capped; a given one that leaves fewer than 10
  /// samples to measure on is refused).
  var cleanSizeGiven: Bool { get }

  /// Whether the audit leaves pictures for `--audit-dir`.
  static var drawsPictures: Bool { get }

  /// Whether it measures anything on the test samples the defender does
  /// not hold (then its default `clean_size` leaves half the test set).
  static var measuresOnRest: Bool { get }

  /// Working memory of its own beyond the defender's samples, gradient
  /// workspaces and models the estimate counts for every audit (STRIP's
  /// blends), for inputs of `features` values and `network`.
  /// - Parameters:
  ///   - features: values per input.
  ///   - network: the audited architecture.
  /// - Returns: bytes.
  func workingBytes(features: Int, network: Network) -> Int

  /// Runs the audit.
  /// - Parameter input: the model and the data.
  /// - Returns: what it found.
  /// - Throws: `RunFailure` when the model or the data do not suit the method.
  func audit(_ input: AuditInput) throws(RunFailure) -> AuditFindings
}

extension AuditMethod {
  /// Audits draw pictures unless they say otherwise.
  public static var drawsPictures: Bool { true }

  /// Audits measure on the rest of the test set unless they say otherwise.
  public static var measuresOnRest: Bool { true }

  /// None unless an audit says otherwise.
  public func workingBytes(features: Int, network: Network) -> Int { 0 }
}

/// What an audit works on.
public struct AuditInput {
  /// The network and its trained parameters.
  public var network: Network
  public var parameters: [Float]
  /// The clean test set, normalised.
  public var test: Dataset
  /// The backdoor's triggered test inputs (normalised), when the scenario
  /// has one; ``split(for:)`` keeps those made from samples the defender
  /// does not hold.
  public var probe: AttackProbe?
  /// The input normalisation (raw = x / factor + offset).
  public var normalizer: Normalizer
  /// The scenario's optimiser settings (fine-tuning).
  public var training: TrainingSettings
  /// The run's seed tree.
  public var seeds: SeedTree
  /// Worker threads for evaluation.
  public var threads: Int

  /// Creates an input.
  public init(
    network: Network, parameters: [Float], test: Dataset, probe: AttackProbe?,
    normalizer: Normalizer, training: TrainingSettings, seeds: SeedTree, threads: Int
  ) {
    self.network = network
    self.parameters = parameters
    self.test = test
    self.probe = probe
    self.normalizer = normalizer
    self.training = training
    self.seeds = seeds
    self.threads = threads
  }

  /// The fewest test samples the defender holds, and the fewest left to
  /// measure the audit on.
  static let minimumSamples = 10

  /// The defender's clean samples, the rest of the test set, and the
  /// triggered inputs made from that rest (a triggered copy of a sample the
  /// defender holds measures nothing the defender did not see).
  /// - Parameter method: the audit, whose `clean_size` is taken as given,
  ///   or, by default, capped at half the test set when it measures on the
  ///   rest (so that what it reports is measured on as many samples as it
  ///   learnt from).
  /// - Returns: the defender's samples, the others, and the probe's inputs
  ///   made from the others (all of them when the probe does not say which
  ///   sample each came from).
  func split<Method: AuditMethod>(for method: Method) -> (
    defender: Dataset, rest: Dataset, probe: AttackProbe?
  ) {
    var rng = seeds.generator("audit")
    let size =
      method.cleanSizeGiven || !Method.measuresOnRest
      ? method.cleanSize : max(Self.minimumSamples, min(method.cleanSize, test.count / 2))
    let chosen = Stratified.sample(
      labels: test.labels, classes: test.classes,
      size: min(size, test.count - (Method.measuresOnRest ? Self.minimumSamples : 0)), rng: &rng)
    let held = Set(chosen)
    var outside = probe
    if var kept = probe, let samples = kept.samples, samples.count == kept.inputs.count {
      let rows = samples.indices.filter { !held.contains(samples[$0]) }
      kept.inputs = kept.inputs.subset(rows)
      kept.samples = rows.map { samples[$0] }
      outside = kept
    }
    return (
      test.subset(chosen), test.subset((0..<test.count).filter { !held.contains($0) }), outside
    )
  }

  /// Accuracy on `data` and attack success on `probe` of `parameters`.
  func measure(_ parameters: [Float], on data: Dataset, probe: AttackProbe?) -> (
    accuracy: Double, attackSuccess: Double?
  ) {
    let evaluators = (0..<max(1, threads)).map { _ in Evaluator(network: network) }
    let accuracy = Evaluator.evaluate(parameters: parameters, on: data, using: evaluators).accuracy
    var success: Double?
    if let probe, probe.inputs.count > 0 {
      let r = Evaluator.evaluate(parameters: parameters, on: probe.inputs, using: evaluators)
      success =
        Double(r.predictions.filter { $0 == probe.target }.count) / Double(probe.inputs.count)
    }
    return (accuracy, success)
  }
}

/// What an audit found (the summary's `audit_*` fields; null where a
/// method does not measure it).
public struct AuditFindings: Sendable, Equatable {
  /// The method's name.
  public var method: String
  /// Classes the audit flags as backdoor targets (class-level methods).
  public var flaggedClasses: [Int]? = nil
  /// Whether the backdoor's target is among the flagged classes.
  public var detected: Bool? = nil
  /// Whether a class was flagged on a model without a backdoor.
  public var falsePositive: Bool? = nil
  /// STRIP: the entropy threshold (inputs below it are rejected).
  public var threshold: Double? = nil
  /// STRIP: the false rejection rate the threshold was set at (`frr`).
  public var targetFalseRejection: Double? = nil
  /// STRIP: share of clean inputs rejected.
  public var falseRejection: Double? = nil
  /// STRIP: share of triggered inputs accepted.
  public var falseAcceptance: Double? = nil
  /// Fine-pruning: units pruned (the last convolution's channels, or the
  /// last hidden layer's neurons, by `layer`).
  public var pruned: Int? = nil
  /// Accuracy and attack success before and after (fine-pruning).
  public var accuracyBefore: Double? = nil
  public var accuracyAfter: Double? = nil
  public var attackSuccessBefore: Double? = nil
  public var attackSuccessAfter: Double? = nil
  /// Neural Cleanse: each class's reversed-trigger mask norm |m|₁.
  public var maskNorms: [Double]? = nil
  /// Neural Cleanse: each class's anomaly index.
  public var anomalyIndices: [Double]? = nil
  /// Neural Cleanse: the smallest norm's anomaly index.
  public var anomalyIndex: Double? = nil
  /// Neural Cleanse: classes whose reversed trigger never reached the
  /// success threshold (their norm is the last epoch's).
  public var unreversedClasses: [Int]? = nil
  /// Neural Cleanse: the reversed triggers (for pictures).
  public var triggers: [ReversedTrigger] = []
  /// STRIP: the entropies of clean and of triggered inputs (for plots).
  public var cleanEntropies: [Double] = []
  public var triggeredEntropies: [Double] = []

  /// Creates findings for `method`.
  public init(method: String) { self.method = method }

  /// The `audit_*` fields of a summary (null where not measured, all null without an audit).
  /// - Parameter findings: what an audit found, or nil.
  /// - Returns: the fields, in output order.
  public static func fields(_ findings: AuditFindings?) -> [JSONMember] {
    func number(_ x: Double?) -> JSONValue { x.map { .number($0) } ?? .null }
    return [
      JSONMember("audit", findings.map { .string($0.method) } ?? .null),
      JSONMember(
        "audit_flagged_classes",
        findings?.flaggedClasses.map { .array($0.map { .number(Double($0)) }) } ?? .null),
      JSONMember("audit_detected", findings?.detected.map { .bool($0) } ?? .null),
      JSONMember("audit_false_positive", findings?.falsePositive.map { .bool($0) } ?? .null),
      JSONMember(
        "audit_mask_norms", findings?.maskNorms.map { .array($0.map { .number($0) }) } ?? .null),
      JSONMember(
        "audit_anomaly_indices",
        findings?.anomalyIndices.map { .array($0.map { .number($0) }) } ?? .null),
      JSONMember("audit_anomaly_index", number(findings?.anomalyIndex)),
      JSONMember(
        "audit_unreversed_classes",
        findings?.unreversedClasses.map { .array($0.map { .number(Double($0)) }) } ?? .null),
      JSONMember("audit_threshold", number(findings?.threshold)),
      JSONMember("audit_false_rejection", number(findings?.falseRejection)),
      JSONMember("audit_false_acceptance", number(findings?.falseAcceptance)),
      JSONMember("audit_pruned", number(findings?.pruned.map(Double.init))),
      JSONMember("audit_accuracy_before", number(findings?.accuracyBefore)),
      JSONMember("audit_accuracy_after", number(findings?.accuracyAfter)),
      JSONMember("audit_attack_success_before", number(findings?.attackSuccessBefore)),
      JSONMember("audit_attack_success_after", number(findings?.attackSuccessAfter)),
    ]
  }
}

/// The `clean_size` key every audit takes.
let cleanSizeSpec = ParameterSpec(
  "clean_size", .integer(min: 10, max: 1_000_000), default: .number(1000),
  doc:
    "clean test samples the defender holds (the rest measure the audit, at least 10); the default is capped at half the test set for audits that measure on the rest, where a given value must leave 10"
)
