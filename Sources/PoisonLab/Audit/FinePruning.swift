/// Fine-pruning (Liu, Dolan-Gavitt & Garg, RAID 2018): backdoor neurons
/// sleep on clean inputs, so pruning the last hidden layer's least active
/// neurons removes them, and fine-tuning on clean data repairs the rest.
///
/// The last hidden layer is the ReLU before the output layer. Its neurons
/// are ordered by increasing mean activation on the defender's clean
/// samples; the largest number pruned whose clean accuracy on those samples
/// stays within `max_drop` of the unpruned model's is found by bisection
/// (the paper prunes one by one until the drop exceeds its bound; accuracy
/// falls nearly monotonically with the count, and bisection keeps the CNN
/// fast). A pruned neuron's incoming weights and bias and its outgoing
/// weights are zeroed (ReLU'(0) = 0 keeps them at zero). The model is then
/// fine-tuned for `epochs` epochs on the defender's samples with the
/// scenario's optimiser (stream `("audit", "fine-pruning", epoch)`). The
/// audit reports clean accuracy on the other test samples and attack
/// success on the triggered test inputs, before and after.
public struct FinePruning: AuditMethod {
  public static let descriptor = PluginDescriptor(
    name: "fine-pruning",
    summary: "prune the last hidden layer's least active neurons, then fine-tune on clean data",
    reference:
      "Liu, Dolan-Gavitt & Garg 2018, Fine-Pruning: Defending Against Backdooring Attacks on Deep Neural Networks (RAID)",
    parameters: [
      ParameterSpec(
        "max_drop", .number(min: 0, max: 1, minOpen: false, maxOpen: false), default: .number(0.04),
        doc: "largest accepted drop of the defender's clean accuracy while pruning"),
      ParameterSpec(
        "epochs", .integer(min: 0, max: 1_000), default: .number(2),
        doc: "fine-tuning epochs on the defender's clean samples"),
      cleanSizeSpec,
    ],
    notes: ["models with a hidden dense layer (mlp with hidden layers, cnn with a dense layer)"])

  /// Fine-pruning reports figures only.
  public static var drawsPictures: Bool { false }

  public let maxDrop: Double
  public let epochs: Int
  public let cleanSize: Int
  /// Whether `clean_size` was given.
  public let cleanSizeGiven: Bool

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    maxDrop = parameters.double("max_drop") ?? 0.04
    epochs = parameters.int("epochs") ?? 2
    cleanSize = parameters.int("clean_size") ?? 1000
    cleanSizeGiven = parameters.given.contains("clean_size")
  }

  public func audit(_ input: AuditInput) throws(RunFailure) -> AuditFindings {
    let layers = input.network.layers
    let count = layers.count
    guard count >= 3, let output = layers[count - 1] as? Dense, layers[count - 2] is ReLU,
      let hidden = layers[count - 3] as? Dense
    else {
      throw .scenario(
        ScenarioErrors(
          source: "audit",
          errors: [
            ScenarioError(
              JSONPath.root.appending("audit"),
              "fine-pruning needs a hidden dense layer before the output (an mlp with hidden layers, or a cnn with a dense layer)"
            )
          ]))
    }
    var findings = AuditFindings(method: Self.descriptor.name)
    let (defender, rest) = input.split(for: self)
    let before = input.measure(input.parameters, on: rest)
    findings.accuracyBefore = before.accuracy
    findings.attackSuccessBefore = before.attackSuccess
    // Mean activation of each hidden neuron on the defender's samples.
    let width = hidden.outputs
    let activations = Evaluator(network: input.network).activations(
      parameters: input.parameters, on: defender, layer: count - 2)
    var mean = [Double](repeating: 0, count: width)
    for i in 0..<defender.count {
      for j in 0..<width { mean[j] += Double(activations[i * width + j]) }
    }
    let order = (0..<width).sorted { mean[$0] < mean[$1] || (mean[$0] == mean[$1] && $0 < $1) }
    let hiddenBase = input.network.offsets[count - 3]
    let outputBase = input.network.offsets[count - 1]
    func pruned(_ k: Int) -> [Float] {
      var p = input.parameters
      for neuron in order.prefix(k) {
        for i in 0..<hidden.inputs { p[hiddenBase + neuron * hidden.inputs + i] = 0 }
        p[hiddenBase + hidden.outputs * hidden.inputs + neuron] = 0
        for o in 0..<output.outputs { p[outputBase + o * output.inputs + neuron] = 0 }
      }
      return p
    }
    let baseline = input.measure(input.parameters, on: defender).accuracy
    var low = 0
    var high = width - 1  // keep at least one neuron
    while low < high {
      let mid = (low + high + 1) / 2
      if input.measure(pruned(mid), on: defender).accuracy >= baseline - maxDrop - 1e-12 {
        low = mid
      } else {
        high = mid - 1
      }
    }
    findings.pruned = low
    var parameters = pruned(low)
    let trainer = Trainer(
      network: input.network, batchSize: min(input.training.batchSize, max(1, defender.count)),
      optimizer: input.training.optimizer)
    for epoch in stride(from: 1, through: epochs, by: 1) {
      var rng = input.seeds.generator("audit", "fine-pruning", epoch)
      _ = trainer.train(parameters: &parameters, on: defender, rng: &rng)
    }
    let after = input.measure(parameters, on: rest)
    findings.accuracyAfter = after.accuracy
    findings.attackSuccessAfter = after.attackSuccess
    return findings
  }
}

extension FinePruning {
  /// Fine-pruning prunes the last hidden dense layer: the model must have one.
  /// - Parameters:
  ///   - model: the scenario's model (nil when it did not validate).
  ///   - path: the audit block.
  ///   - validator: collects the problem.
  static func checkModel(
    _ model: (any ModelArchitecture)?, at path: JSONPath, _ validator: inout SchemaValidator
  ) {
    let flat =
      model is LogisticModel || (model as? MLPModel)?.hidden.isEmpty == true
      || (model as? CNNModel)?.dense.isEmpty == true
    guard flat else { return }
    validator.fail(
      path.appending("name"),
      "fine-pruning prunes the last hidden dense layer; the model has none (use an mlp with hidden layers, or a cnn with a dense layer)"
    )
  }
}
