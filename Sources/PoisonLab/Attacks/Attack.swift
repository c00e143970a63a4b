/// An attack plug-in (`attack.name`).
public protocol Attack: Plugin {
  /// What the attack carries from round to round that a model file does not hold (a run resumed
  /// from a checkpoint starts without it), for the resume warning; nil when nothing.
  var stateAcrossRounds: String? { get }
}

extension Attack {
  /// Most attacks act on the round alone.
  public var stateAcrossRounds: String? { nil }
}

/// An attack that poisons training data before training: `fraction` of the
/// training set in centralized runs, `poison_fraction` of each malicious
/// client's local data in federated runs (the client then trains normally).
public protocol DataPoisoning: Attack {
  /// Federated runs: the factor the malicious clients multiply their update by
  /// (model replacement; 1 = none).
  var updateScale: Float { get }

  /// Federated runs: local epochs the malicious clients train for instead of
  /// `training.local_epochs` (nil: the same as everyone).
  var localEpochs: Int? { get }

  /// Federated runs: the malicious clients' learning rate instead of
  /// `training.learning_rate` (nil: the same as everyone).
  var localLearningRate: Double? { get }

  /// Federated runs: turns a malicious client's trained update into the one it
  /// sends (scaling, masking, norm projection).
  /// - Parameters:
  ///   - update: the trained update, changed in place.
  ///   - previousAggregate: the last global update the client observed (nil in round 1).
  func finish(_ update: inout [Float], previousAggregate: [Float]?)

  /// Poisons `data` (raw units, before normalisation) in place.
  /// - Parameters:
  ///   - data: the training set.
  ///   - rng: the attack's random stream.
  /// - Returns: the indices of the poisoned samples, ascending (ground truth for detection).
  func poison(_ data: inout Dataset, rng: inout SplitMix64) -> [Int]

  /// Federated runs: poisons the local data of the group's `attacker`-th
  /// malicious client (0-based, in client order); attacks whose clients
  /// differ (DBA's local triggers) override it.
  /// - Parameters:
  ///   - data: the client's training data.
  ///   - rng: the client's attack stream.
  ///   - attacker: the client's position among the group's malicious clients.
  /// - Returns: the indices of the poisoned samples, ascending.
  func poison(_ data: inout Dataset, rng: inout SplitMix64, attacker: Int) -> [Int]

  /// The test inputs on which `attack_success` is measured (raw units), or
  /// nil for an untargeted attack.
  /// - Parameter test: the clean test set.
  /// - Returns: the probe, or nil for an untargeted attack.
  func probe(test: Dataset) -> AttackProbe?

  /// Checks the attack against the loaded data (class ids, image size) when
  /// these were not known while validating.
  /// - Parameters:
  ///   - data: the loaded training set.
  ///   - path: the attack's location in the scenario.
  /// - Returns: the problem found, or nil when the attack fits the data.
  func check(against data: Dataset, at path: JSONPath) -> ScenarioError?
}

extension DataPoisoning {
  /// Malicious clients train like everyone unless the attack says otherwise.
  public var localEpochs: Int? { nil }
  /// Malicious clients use the scenario's learning rate unless the attack says otherwise.
  public var localLearningRate: Double? { nil }
  /// Every malicious client poisons the same way.
  public func poison(_ data: inout Dataset, rng: inout SplitMix64, attacker: Int) -> [Int] {
    poison(&data, rng: &rng)
  }
  /// No boosting by default.
  public var updateScale: Float { 1 }

  /// Multiplies the update by `updateScale`.
  public func finish(_ update: inout [Float], previousAggregate: [Float]?) {
    let scale = updateScale
    if scale != 1 { for j in update.indices { update[j] *= scale } }
  }
}

/// What `attack_success` (and `robust_accuracy`) are measured on.
public struct AttackProbe: Sendable {
  /// Test inputs, with their true labels.
  public var inputs: Dataset
  /// The attacker's target class: success = predicted as this.
  public var target: Int32
  /// Whether `robust_accuracy` (predicted as the true label) is reported (backdoors).
  public var reportsRobustAccuracy: Bool
  /// The test samples the inputs were made from, one per input (nil: not
  /// known), so that an audit can leave out those its defender holds.
  public var samples: [Int]? = nil
}

/// The `fraction` (centralized) and `poison_fraction` (federated) keys of data poisoning.
let poisonFractionSpecs = [
  ParameterSpec(
    "fraction", .number(min: 0, max: 1, minOpen: true, maxOpen: false), default: .number(0.1),
    mode: .centralized,
    doc: "share of training samples poisoned"),
  ParameterSpec(
    "poison_fraction", .number(min: 0, max: 1, minOpen: true, maxOpen: false),
    default: .number(0.5), mode: .federated,
    doc: "share of each malicious client's local samples poisoned"),
  ParameterSpec(
    "sources", .array(.string, minCount: 1, maxCount: nil), mode: .centralized,
    doc:
      "with a sources array: poison only these sources' samples (fraction is then a share of them)"),
]

/// The share of samples to poison: `fraction` or `poison_fraction` by run mode.
func poisonFraction(_ parameters: Parameters, context: ScenarioContext) -> Double {
  context.federated
    ? parameters.double("poison_fraction") ?? 0.5 : parameters.double("fraction") ?? 0.1
}

/// `count` distinct elements of `candidates`, chosen uniformly, ascending.
func choose(_ count: Int, from candidates: [Int], rng: inout SplitMix64) -> [Int] {
  var pool = candidates
  rng.shuffle(&pool)
  return pool.prefix(min(count, pool.count)).sorted()
}

/// An error when `classID` is not a class of `data`.
func classError(_ classID: Int, _ data: Dataset, at path: JSONPath) -> ScenarioError? {
  classID < data.classes
    ? nil
    : ScenarioError(
      path,
      "class \(classID) does not exist: the dataset has \(data.classes) classes (0...\(data.classes - 1))"
    )
}
