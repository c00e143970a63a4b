/// Fine-pruning (Liu, Dolan-Gavitt & Garg, RAID 2018): backdoor neurons
/// sleep on clean inputs, so pruning the least active units of a late
/// layer removes them, and fine-tuning on clean data repairs the rest.
///
/// The paper prunes the feature maps (channels) of the last convolutional
/// layer; that is `layer: "conv"`, and what `auto` picks for a `cnn`. Each
/// channel's activation is its post-ReLU output averaged over the
/// defender's clean samples and every position of the map, before pooling
/// (poisonlab's blocks pool before the ReLU, the same function; the mean
/// is taken of the ReLU of the convolution itself, the layer the paper
/// ranks). A pruned channel's filter and bias are zeroed, so it outputs
/// zeros, and ReLU'(0) = 0 keeps them at zero while fine-tuning. For a
/// model without convolutions (`mlp`), or with `layer: "dense"`, the units
/// are the neurons of the last hidden layer (the ReLU before the output
/// layer), and a pruned neuron's incoming weights, bias and outgoing
/// weights are zeroed.
///
/// Units are ordered by increasing mean activation (ties by index); the
/// largest number pruned whose clean accuracy on the defender's samples
/// stays within `max_drop` of the unpruned model's is found by bisection
/// (the paper prunes one by one until the drop exceeds its bound; accuracy
/// falls nearly monotonically with the count, and bisection keeps the CNN
/// fast); at least one unit is kept. The model is then fine-tuned for
/// `epochs` epochs on the defender's samples with the scenario's optimiser
/// (stream `("audit", "fine-pruning", epoch)`). The audit reports the units
/// pruned, and clean accuracy on the other test samples and attack success
/// on the triggered inputs made from them, before and after.
public struct FinePruning: AuditMethod {
  public static let descriptor = PluginDescriptor(
    name: "fine-pruning",
    summary:
      "prune the least active channels of the last convolution (or neurons of the last hidden layer), then fine-tune on clean data",
    reference:
      "Liu, Dolan-Gavitt & Garg 2018, Fine-Pruning: Defending Against Backdooring Attacks on Deep Neural Networks (RAID)",
    parameters: [
      ParameterSpec(
        "max_drop", .number(min: 0, max: 1, minOpen: false, maxOpen: false), default: .number(0.04),
        doc: "largest accepted drop of the defender's clean accuracy while pruning"),
      ParameterSpec(
        "epochs", .integer(min: 0, max: 1_000), default: .number(2),
        doc: "fine-tuning epochs on the defender's clean samples"),
      ParameterSpec(
        "layer", .choice(["auto", "conv", "dense"]), default: .string("auto"),
        doc:
          "conv: the last convolution's channels (the paper's); dense: the last hidden dense layer's neurons; auto: conv when the model has one, else dense"
      ),
      cleanSizeSpec,
    ],
    notes: [
      "models with a convolution or a hidden dense layer (a cnn, or an mlp with hidden layers)"
    ])

  /// Fine-pruning reports figures only.
  public static var drawsPictures: Bool { false }

  public let maxDrop: Double
  public let epochs: Int
  /// `auto`, `conv` or `dense`.
  public let layer: String
  public let cleanSize: Int
  /// Whether `clean_size` was given.
  public let cleanSizeGiven: Bool

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    maxDrop = parameters.double("max_drop") ?? 0.04
    epochs = parameters.int("epochs") ?? 2
    layer = parameters.string("layer") ?? "auto"
    cleanSize = parameters.int("clean_size") ?? 1000
    cleanSizeGiven = parameters.given.contains("clean_size")
  }

  /// The units fine-pruning ranks in a network: how many, each one's
  /// activation summed over `data` (and over the map's positions), and how
  /// to zero a set of them.
  struct Units {
    var count: Int
    var activation: (Dataset) -> [Double]
    var prune: (inout [Float], [Int]) -> Void
  }

  /// The last convolution's channels or the last hidden dense layer's
  /// neurons of `network`, as `layer` asks, or nil when it has none.
  /// - Parameters:
  ///   - network: the audited architecture.
  ///   - parameters: its trained parameters.
  /// - Returns: the units, or nil.
  func units(of network: Network, parameters: [Float]) -> Units? {
    let layers = network.layers
    let count = layers.count
    if layer != "dense", let c = layers.lastIndex(where: { $0 is Conv2D }),
      let conv = layers[c] as? Conv2D
    {
      let base = network.offsets[c]
      let filters = conv.filters
      let patch = conv.kernel * conv.kernel * conv.shape.channels
      let positions = conv.outputShape.height * conv.outputShape.width
      return Units(
        count: filters,
        activation: { data in
          let out = Evaluator(network: network).activations(
            parameters: parameters, on: data, layer: c)
          var sums = [Double](repeating: 0, count: filters)
          for cell in 0..<(data.count * positions) {
            for o in 0..<filters { sums[o] += Double(max(0, out[cell * filters + o])) }
          }
          return sums
        },
        prune: { p, channels in
          for o in channels {
            for i in 0..<patch { p[base + o * patch + i] = 0 }
            p[base + filters * patch + o] = 0
          }
        })
    }
    guard layer != "conv", count >= 3, let output = layers[count - 1] as? Dense,
      layers[count - 2] is ReLU, let hidden = layers[count - 3] as? Dense
    else { return nil }
    let hiddenBase = network.offsets[count - 3]
    let outputBase = network.offsets[count - 1]
    let width = hidden.outputs
    return Units(
      count: width,
      activation: { data in
        let out = Evaluator(network: network).activations(
          parameters: parameters, on: data, layer: count - 2)
        var sums = [Double](repeating: 0, count: width)
        for i in 0..<data.count {
          for j in 0..<width { sums[j] += Double(out[i * width + j]) }
        }
        return sums
      },
      prune: { p, neurons in
        for neuron in neurons {
          for i in 0..<hidden.inputs { p[hiddenBase + neuron * hidden.inputs + i] = 0 }
          p[hiddenBase + hidden.outputs * hidden.inputs + neuron] = 0
          for o in 0..<output.outputs { p[outputBase + o * output.inputs + neuron] = 0 }
        }
      })
  }

  /// The activations of the ranked layer on the defender's samples: the
  /// last convolution's maps, or the last hidden layer.
  public func workingBytes(features: Int, network: Network) -> Int {
    let layers = network.layers
    let width =
      layer != "dense"
      ? (layers.last { $0 is Conv2D }?.outputShape.count
        ?? layers.dropLast().last?.outputShape.count ?? 0)
      : layers.dropLast().last?.outputShape.count ?? 0
    return cleanSize.multipliedSaturating(width).multipliedSaturating(4)
  }

  /// The pruning order: units by increasing activation, ties by index.
  /// - Parameter totals: each unit's activation summed over the samples
  ///   (and positions), which orders them as their means do.
  /// - Returns: unit indices, least active first.
  static func order(_ totals: [Double]) -> [Int] {
    totals.indices.sorted { totals[$0] < totals[$1] || (totals[$0] == totals[$1] && $0 < $1) }
  }

  public func audit(_ input: AuditInput) throws(RunFailure) -> AuditFindings {
    guard let units = units(of: input.network, parameters: input.parameters) else {
      throw .scenario(
        ScenarioErrors(
          source: "audit",
          errors: [
            ScenarioError(
              JSONPath.root.appending("audit"),
              "fine-pruning (layer \(layer)) finds no \(layer == "dense" ? "hidden dense layer before the output" : layer == "conv" ? "convolution" : "convolution or hidden dense layer") to prune"
            )
          ]))
    }
    var findings = AuditFindings(method: Self.descriptor.name)
    let (defender, rest, triggered) = input.split(for: self)
    let before = input.measure(input.parameters, on: rest, probe: triggered)
    findings.accuracyBefore = before.accuracy
    findings.attackSuccessBefore = before.attackSuccess
    let order = Self.order(units.activation(defender))
    func pruned(_ k: Int) -> [Float] {
      var p = input.parameters
      units.prune(&p, Array(order.prefix(k)))
      return p
    }
    let baseline = input.measure(input.parameters, on: defender, probe: nil).accuracy
    var low = 0
    var high = units.count - 1  // keep at least one unit
    while low < high {
      let mid = (low + high + 1) / 2
      if input.measure(pruned(mid), on: defender, probe: nil).accuracy
        >= baseline - maxDrop - 1e-12
      {
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
    let after = input.measure(parameters, on: rest, probe: triggered)
    findings.accuracyAfter = after.accuracy
    findings.attackSuccessAfter = after.attackSuccess
    return findings
  }
}

extension FinePruning {
  /// The model must have what `layer` prunes: a convolution (`conv`), a
  /// hidden dense layer (`dense`), or either (`auto`).
  /// - Parameters:
  ///   - model: the scenario's model (nil when it did not validate).
  ///   - path: the audit block.
  ///   - validator: collects the problem.
  func checkModel(
    _ model: (any ModelArchitecture)?, at path: JSONPath, _ validator: inout SchemaValidator
  ) {
    guard let model else { return }
    let hasConv = model is CNNModel
    let hasDense =
      (model as? MLPModel).map { !$0.hidden.isEmpty }
      ?? (model as? CNNModel).map { !$0.dense.isEmpty } ?? false
    switch layer {
    case "conv" where !hasConv:
      validator.fail(
        path.appending("layer"),
        "\"conv\" prunes the last convolution's channels; the model has no convolution (use a cnn, or layer \"dense\")"
      )
    case "dense" where !hasDense:
      validator.fail(
        path.appending("layer"),
        "\"dense\" prunes the last hidden dense layer; the model has none (use an mlp with hidden layers, a cnn with a dense layer, or layer \"conv\" on a cnn)"
      )
    case "auto" where !hasConv && !hasDense:
      validator.fail(
        path.appending("name"),
        "fine-pruning prunes a convolution's channels or a hidden dense layer's neurons; the model has neither (use a cnn, or an mlp with hidden layers)"
      )
    default: break
    }
  }
}
