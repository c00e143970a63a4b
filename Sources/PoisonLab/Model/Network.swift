/// A sequential stack of layers whose parameters live in one flat vector.
///
/// Layer `i` owns `parameters[offsets[i] ..< offsets[i] + layers[i].parameterCount]`.
/// A `Network` is a description (shapes and offsets); the parameter vector
/// is a separate `[Float]`, so copying a model for a client is copying one
/// array.
public struct Network: Sendable, CustomStringConvertible {
  /// The layers, input to output.
  public let layers: [any Layer]
  /// Start of each layer's slice of the parameter vector.
  public let offsets: [Int]
  /// Length of the parameter vector.
  public let parameterCount: Int
  /// Index of the first layer with parameters: layers before it need no input gradient.
  let firstTrainable: Int

  /// Creates a network; consecutive shapes must agree.
  /// - Parameter layers: the layers, input to output (at least one).
  public init(layers: [any Layer]) {
    precondition(!layers.isEmpty, "a network needs at least one layer")
    for (previous, next) in zip(layers, layers.dropFirst()) {
      precondition(
        previous.outputShape.count == next.inputShape.count,
        "layer shapes disagree: \(previous) then \(next)")
    }
    var offsets: [Int] = []
    var total = 0
    for layer in layers {
      offsets.append(total)
      total += layer.parameterCount
    }
    self.layers = layers
    self.offsets = offsets
    self.parameterCount = total
    self.firstTrainable = layers.firstIndex { $0.parameterCount > 0 } ?? layers.count
  }

  /// The shape of one input sample.
  public var inputShape: Shape { layers[0].inputShape }
  /// Number of outputs (classes).
  public var outputCount: Int { layers[layers.count - 1].outputShape.count }

  /// Whether layer `index` must produce an input gradient during backpropagation.
  func needsInputGradient(_ index: Int) -> Bool { index > firstTrainable }

  /// A parameter vector initialised like PyTorch's defaults, layer by layer.
  /// - Parameter rng: the generator to draw from.
  /// - Returns: a parameter vector initialised like PyTorch's defaults, layer by layer.
  public func initialParameters(using rng: inout SplitMix64) -> [Float] {
    var parameters = [Float](repeating: 0, count: parameterCount)
    parameters.withUnsafeMutableBufferPointer { all in
      for (layer, offset) in zip(layers, offsets) where layer.parameterCount > 0 {
        let slice = UnsafeMutableBufferPointer(
          rebasing: all[offset..<(offset + layer.parameterCount)])
        layer.initialize(slice, using: &rng)
      }
    }
    return parameters
  }

  /// Matrix-product flops of one training step per sample (forward and backward).
  public var trainingFlopsPerSample: Int {
    var total = 0
    for (index, layer) in layers.enumerated() {
      total += layer.flops.forward + layer.flops.backwardParameters
      if needsInputGradient(index) { total += layer.flops.backwardInput }
    }
    return total
  }

  /// Bytes a ``Trainer`` allocates for batches of `batch` samples
  /// (activations, scratch, gradient buffers, parameter gradient and momentum).
  /// - Parameter batch: the batch size.
  /// - Returns: the estimate in bytes.
  public func trainingBytes(batch: Int) -> Int {
    var floats = batch * inputShape.count + 2 * parameterCount
    var widest = inputShape.count
    for (index, layer) in layers.enumerated() {
      floats += batch * layer.outputShape.count
      floats += layer.scratchCount(batch: batch, needsInputGradient: needsInputGradient(index))
      widest = max(widest, layer.outputShape.count)
    }
    return 4 * (floats + 2 * batch * widest)
  }

  /// Matrix-product flops of one forward pass per sample.
  public var forwardFlopsPerSample: Int { layers.reduce(0) { $0 + $1.flops.forward } }

  public var description: String {
    layers.map(\.description).joined(separator: ", ") + " (\(parameterCount) parameters)"
  }
}
