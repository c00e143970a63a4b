/// The gradient of the mean softmax cross-entropy of a batch with respect
/// to the batch's *inputs* (not the parameters): what trigger
/// reverse-engineering (Neural Cleanse) and other input-space optimisations
/// descend.
///
/// Training never needs the first layer's input gradient, so ``Trainer`` skips it; this runs the
/// same backward pass through every layer, the first included, and skips the parameter gradients
/// instead. Buffers are allocated once; a call allocates nothing. One thread at a time.
final class InputGradient {
  /// The network differentiated.
  let network: Network
  /// The largest batch.
  let capacity: Int
  private let workspace: Workspace
  private let deltaA: UnsafeMutablePointer<Float>
  private let deltaB: UnsafeMutablePointer<Float>

  /// Creates the buffers for batches of up to `capacity` samples.
  /// - Parameters:
  ///   - network: the architecture.
  ///   - capacity: the largest batch (> 0).
  init(network: Network, capacity: Int) {
    self.network = network
    self.capacity = capacity
    workspace = Workspace(network: network, capacity: capacity, training: true, inputGradient: true)
    let widest = network.layers.map { max($0.inputShape.count, $0.outputShape.count) }.max() ?? 1
    deltaA = .allocate(capacity: capacity * widest)
    deltaA.initialize(repeating: 0, count: capacity * widest)
    deltaB = .allocate(capacity: capacity * widest)
    deltaB.initialize(repeating: 0, count: capacity * widest)
  }

  deinit {
    deltaA.deallocate()
    deltaB.deallocate()
  }

  /// The batch input to fill: `capacity x inputShape.count` floats.
  var input: UnsafeMutablePointer<Float> { workspace.input }
  /// The batch labels to fill.
  var labels: UnsafeMutablePointer<Int32> { workspace.labels }

  /// Runs the forward and backward pass on the first `batch` samples of
  /// ``input`` and ``labels``.
  /// - Parameters:
  ///   - batch: the number of samples (at most `capacity`).
  ///   - parameters: the model's parameter vector.
  ///   - gradient: where to write `dMeanLoss/dInput`, `batch x inputShape.count` floats.
  ///   - predictions: where to write each sample's predicted class, or nil.
  /// - Returns: the summed loss of the batch.
  @discardableResult
  func compute(
    batch: Int, parameters: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>,
    predictions: UnsafeMutablePointer<Int32>? = nil
  ) -> Double {
    let logits = workspace.forward(batch: batch, parameters: parameters)
    let loss = SoftmaxCrossEntropy.evaluate(
      logits: logits, labels: workspace.labels, batch: batch, classes: network.outputCount,
      gradient: deltaA, predictions: predictions)
    var outputGradient = deltaA
    var inputGradient = deltaB
    let layers = network.layers
    for index in stride(from: layers.count - 1, through: 0, by: -1) {
      let input =
        index == 0
        ? UnsafePointer(workspace.input) : UnsafePointer(workspace.activations[index - 1])
      let offset = network.offsets[index]
      layers[index].backward(
        batch: batch, input: input, output: workspace.activations[index],
        outputGradient: outputGradient, inputGradient: index == 0 ? gradient : inputGradient,
        parameters: parameters + offset, parameterGradient: nil,
        scratch: workspace.scratch[index])
      swap(&outputGradient, &inputGradient)
    }
    return loss
  }
}
