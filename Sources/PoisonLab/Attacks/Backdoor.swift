/// BadNets backdoor (data poisoning): a pixel trigger is stamped on
/// poisoned training samples, which are relabelled `target`; the model learns
/// to answer `target` whenever the trigger is present.
///
/// Centralized: `round(fraction * n)` samples, drawn uniformly from the whole
/// training set, are stamped and labelled `target` (target-class samples keep
/// their label); this is BackdoorBench's all-to-one training selection.
/// `attack_success` = share of triggered test samples *whose true label is
/// not the target* classified as `target` (BackdoorBench's all-to-one
/// convention); `robust_accuracy` = share of the same triggered samples
/// classified as their true label.
///
/// Federated: each malicious client poisons `poison_fraction` of its local
/// data the same way and trains on it; with `scale > 1` it multiplies its
/// update by `scale` (model replacement: Bagdasaryan et al., "How To Backdoor
/// Federated Learning", AISTATS 2020, with `scale ~ n / server_learning_rate`).
///
/// Two stealth options for federated attackers, applied to the trained update
/// in this order: `mask_fraction` (Neurotoxin; Zhang et al., ICML 2022) zeroes
/// the coordinates in the top `mask_fraction` by magnitude of the last global
/// update (the attacker's estimate of what benign clients change), so the
/// backdoor lives where benign updates rarely write and lasts longer; then
/// `scale`; then `norm_bound` projects the update onto the L2 ball of that
/// radius (constrain-and-scale against norm clipping; Bagdasaryan et al. 2020,
/// Sun et al. 2019). The projection is applied once to the trained update,
/// not at every local step as in the papers.
///
/// Reference: Gu, Dolan-Gavitt & Garg, "BadNets: Identifying Vulnerabilities
/// in the Machine Learning Model Supply Chain", arXiv:1708.06733, 2017.
public struct Backdoor: DataPoisoning {
  public static let descriptor = PluginDescriptor(
    name: "backdoor",
    summary: "BadNets trigger stamped on poisoned samples relabelled to target",
    reference: "Gu, Dolan-Gavitt & Garg 2017, BadNets, arXiv:1708.06733",
    parameters: poisonFractionSpecs + [
      ParameterSpec(
        "target", .integer(min: 0, max: nil), default: .number(0),
        doc: "the class triggered inputs should get"),
      ParameterSpec(
        "trigger", .object(Trigger.spec), default: .object([]), doc: "the trigger (see its keys)"),
      ParameterSpec(
        "scale", .number(atLeast: 0, open: true), default: .number(1), mode: .federated,
        doc:
          "model replacement: the malicious client multiplies its update by scale (Bagdasaryan et al. 2020)"
      ),
      ParameterSpec(
        "norm_bound", .number(atLeast: 0, open: true), mode: .federated,
        doc: "constrain-and-scale: project the sent update onto the L2 ball of this radius"),
      ParameterSpec(
        "mask_fraction", .number(min: 0, max: 1, minOpen: true, maxOpen: true), mode: .federated,
        doc: "Neurotoxin: leave out the top mask_fraction coordinates of the last global update"),
      ParameterSpec(
        "local_epochs", .integer(min: 1, max: 10_000), mode: .federated,
        doc: "the malicious clients' local epochs (default: training.local_epochs)"),
      ParameterSpec(
        "learning_rate", .number(atLeast: 0, open: true), mode: .federated,
        doc: "the malicious clients' learning rate (default: training.learning_rate)"),
    ] + AttackGroup.parameters,
    notes: ["image datasets only"])

  /// Share of training samples poisoned.
  public let fraction: Double
  /// The target class.
  public let target: Int
  /// Federated runs: the model-replacement boost.
  public let scale: Float
  public var updateScale: Float { scale }
  /// Federated runs: the L2 radius the sent update is projected onto.
  public let normBound: Double?
  /// Federated runs: the share of top coordinates of the last global update left out.
  public let maskFraction: Double?
  public var stateAcrossRounds: String? {
    maskFraction == nil ? nil : "the backdoor's mask_fraction reference (the last global update)"
  }
  /// Federated runs: the malicious clients' local epochs.
  ///
  /// Bagdasaryan et al. train the attacker longer, with a smaller learning rate.
  public let localEpochs: Int?
  /// Federated runs: the malicious clients' learning rate.
  public let localLearningRate: Double?
  let design: Trigger.Design
  let triggerPath: JSONPath

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    fraction = poisonFraction(parameters, context: context)
    target = parameters.int("target") ?? 0
    scale = Float(parameters.double("scale") ?? 1)
    normBound = parameters.double("norm_bound")
    maskFraction = parameters.double("mask_fraction")
    localEpochs = parameters.int("local_epochs")
    localLearningRate = parameters.double("learning_rate")
    triggerPath = parameters.path("trigger")
    guard case .object(let members)? = parameters["trigger"] else { return nil }
    let triggerParameters = Parameters(
      members: members, path: triggerPath, given: validator.given(at: triggerPath))
    guard let design = Trigger.Design(triggerParameters, validator: &validator) else { return nil }
    self.design = design
    if context.isImage == false {
      validator.fail(
        parameters.path.appending("name"),
        "\"backdoor\" stamps an image trigger, but the dataset is tabular (use \"label-flip\")")
      return nil
    }
    if let classes = context.classes, target >= classes {
      validator.fail(
        parameters.path("target"), "must be a class id in 0...\(classes - 1), got \(target)")
      return nil
    }
    if let shape = context.shape,
      case .failure(let problem) = design.resolve(height: shape.height, width: shape.width)
    {
      validator.fail(triggerPath, problem.message)
      return nil
    }
  }

  public func finish(_ update: inout [Float], previousAggregate: [Float]?) {
    if let maskFraction, let reference = previousAggregate, reference.count == update.count {
      let k = Int(count: maskFraction * Double(update.count), rounding: .up)
      let top = reference.indices.sorted {
        abs(reference[$0]) > abs(reference[$1])
          || (abs(reference[$0]) == abs(reference[$1]) && $0 < $1)
      }
      for j in top.prefix(k) { update[j] = 0 }
    }
    if scale != 1 { for j in update.indices { update[j] *= scale } }
    if let normBound {
      let norm = update.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
      if norm > normBound {
        let factor = Float(normBound / norm)
        for j in update.indices { update[j] *= factor }
      }
    }
  }

  func trigger(for shape: Shape) -> Trigger? {
    try? design.resolve(height: shape.height, width: shape.width).get()
  }

  public func check(against data: Dataset, at path: JSONPath) -> ScenarioError? {
    if case .failure(let problem) = design.resolve(
      height: data.shape.height, width: data.shape.width)
    {
      return ScenarioError(triggerPath, problem.message)
    }
    return classError(target, data, at: path.appending("target"))
  }

  public func poison(_ data: inout Dataset, rng: inout SplitMix64) -> [Int] {
    guard let trigger = trigger(for: data.shape) else { return [] }
    return poison(&data, rng: &rng, stamping: trigger)
  }

  /// Stamps `trigger` on `round(fraction n)` samples drawn from the whole set
  /// and relabels them to `target`.
  /// - Parameters:
  ///   - data: the training data.
  ///   - rng: the attack's stream.
  ///   - trigger: the pattern stamped.
  /// - Returns: the poisoned indices, ascending.
  func poison(_ data: inout Dataset, rng: inout SplitMix64, stamping trigger: Trigger) -> [Int] {
    let count = Int(count: fraction * Double(data.count), rounding: .toNearestOrAwayFromZero)
    let chosen = choose(count, from: Array(data.labels.indices), rng: &rng)
    for i in chosen {
      trigger.stamp(&data, sample: i)
      data.labels[i] = Int32(target)
    }
    return chosen
  }

  public func probe(test: Dataset) -> AttackProbe? {
    guard let trigger = trigger(for: test.shape) else { return nil }
    let samples = test.labels.indices.filter { test.labels[$0] != Int32(target) }
    var inputs = test.subset(samples)
    for i in 0..<inputs.count { trigger.stamp(&inputs, sample: i) }
    return AttackProbe(
      inputs: inputs, target: Int32(target), reportsRobustAccuracy: true, samples: samples)
  }
}
