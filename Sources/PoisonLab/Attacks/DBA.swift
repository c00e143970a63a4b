/// Distributed backdoor attack (DBA; Xie, Huang, Chen & Li, "DBA: Distributed
/// Backdoor Attacks against Federated Learning", ICLR 2020).
///
/// The global trigger (the `trigger` object, as for `backdoor`) is split into `parts` local
/// triggers (``Trigger/split(into:)``: contiguous runs of its pixels, so a 4x4 square in 4 parts
/// gives 4 one-pixel-high bars, four bars as in the paper; the paper's global trigger has gaps
/// between its bars, which a contiguous square does not). The group's `k`-th malicious client
/// (0-based, in client order) stamps local trigger `k mod parts` on `poison_fraction` of its data
/// relabelled to `target`, then trains and finishes its update like `backdoor` (`scale`,
/// `norm_bound`, `mask_fraction`, `local_epochs`, `learning_rate`). `attack_success` is measured
/// with the combined global trigger, which no single attacker trained on.
public struct DBA: DataPoisoning {
  public static let descriptor = PluginDescriptor(
    name: "dba",
    summary: "distributed backdoor: each attacker stamps one piece of the global trigger",
    reference:
      "Xie, Huang, Chen & Li 2020, DBA: Distributed Backdoor Attacks against Federated Learning (ICLR)",
    // `fraction` and `sources` are a centralized run's keys; DBA is federated.
    parameters: Backdoor.descriptor.parameters.filter { !["fraction", "sources"].contains($0.key) }
      + [
        ParameterSpec(
          "parts", .integer(min: 1, max: 4096), default: .number(4),
          doc: "local triggers the global trigger is split into (at most its pixel count)")
      ],
    notes: ["federated runs only", "image datasets only"])

  /// The backdoor each attacker runs, with the global trigger.
  let backdoor: Backdoor
  /// The number of local triggers.
  public let parts: Int

  public var updateScale: Float { backdoor.scale }
  public var localEpochs: Int? { backdoor.localEpochs }
  public var localLearningRate: Double? { backdoor.localLearningRate }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard context.federated else {
      validator.fail(
        parameters.path.appending("name"),
        "\"dba\" splits a trigger among malicious clients and needs a federation block (centralized runs take backdoor)"
      )
      return nil
    }
    guard let backdoor = Backdoor(parameters, context: context, validator: &validator) else {
      return nil
    }
    self.backdoor = backdoor
    parts = parameters.int("parts") ?? 4
    if let shape = context.shape, let problem = partsProblem(shape) {
      validator.fail(parameters.path("parts"), problem)
      return nil
    }
  }

  /// Why `parts` cannot split the trigger on images of `shape`, or nil.
  /// - Parameter shape: the image shape.
  /// - Returns: the message, or nil when every part gets a pixel.
  func partsProblem(_ shape: Shape) -> String? {
    guard let trigger = backdoor.trigger(for: shape), parts > trigger.pixels.count else {
      return nil
    }
    return "must be at most the trigger's \(trigger.pixels.count) pixels, got \(parts)"
  }

  /// The local trigger of the `attacker`-th malicious client.
  /// - Parameters:
  ///   - attacker: the client's position among the group's malicious clients.
  ///   - shape: the image shape.
  /// - Returns: the local trigger, or nil when the trigger does not fit.
  public func localTrigger(attacker: Int, shape: Shape) -> Trigger? {
    guard let global = backdoor.trigger(for: shape) else { return nil }
    let pieces = global.split(into: parts)
    return pieces[attacker % pieces.count]
  }

  public func poison(_ data: inout Dataset, rng: inout SplitMix64, attacker: Int) -> [Int] {
    guard let local = localTrigger(attacker: attacker, shape: data.shape) else { return [] }
    return backdoor.poison(&data, rng: &rng, stamping: local)
  }

  /// Without an attacker index (not used by the simulation): the first piece.
  public func poison(_ data: inout Dataset, rng: inout SplitMix64) -> [Int] {
    poison(&data, rng: &rng, attacker: 0)
  }

  public func finish(_ update: inout [Float], previousAggregate: [Float]?) {
    backdoor.finish(&update, previousAggregate: previousAggregate)
  }

  public func probe(test: Dataset) -> AttackProbe? { backdoor.probe(test: test) }

  public var stateAcrossRounds: String? { backdoor.stateAcrossRounds }

  public func check(against data: Dataset, at path: JSONPath) -> ScenarioError? {
    if let problem = backdoor.check(against: data, at: path) { return problem }
    return partsProblem(data.shape).map { ScenarioError(path.appending("parts"), $0) }
  }
}
