/// Activation and scratch buffers for running a ``Network`` on batches of up
/// to `capacity` samples, allocated once.
///
/// A workspace is a class because it owns manually allocated memory that it
/// frees on `deinit`; each thread uses its own, and none is shared.
final class Workspace {
  let network: Network
  let capacity: Int
  /// The batch input, `capacity x inputShape.count`.
  let input: UnsafeMutablePointer<Float>
  /// Output of each layer.
  let activations: [UnsafeMutablePointer<Float>]
  /// Scratch memory of each layer.
  let scratch: [UnsafeMutablePointer<Float>]
  /// Batch labels.
  let labels: UnsafeMutablePointer<Int32>

  /// Creates the buffers.
  /// - Parameters:
  ///   - network: the architecture.
  ///   - capacity: the largest batch.
  ///   - training: whether `backward` will run (scratch for input gradients).
  ///   - inputGradient: whether every layer, the first included, will produce
  ///     an input gradient (gradients with respect to the network's input).
  init(network: Network, capacity: Int, training: Bool, inputGradient: Bool = false) {
    precondition(capacity > 0, "a workspace needs a positive capacity")
    self.network = network
    self.capacity = capacity
    input = .allocate(capacity: capacity * network.inputShape.count)
    input.initialize(repeating: 0, count: capacity * network.inputShape.count)
    activations = network.layers.map { layer in
      let buffer = UnsafeMutablePointer<Float>.allocate(
        capacity: capacity * layer.outputShape.count)
      buffer.initialize(repeating: 0, count: capacity * layer.outputShape.count)
      return buffer
    }
    scratch = network.layers.enumerated().map { index, layer in
      let count = max(
        1,
        layer.scratchCount(
          batch: capacity,
          needsInputGradient: training && (inputGradient || network.needsInputGradient(index))))
      let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
      buffer.initialize(repeating: 0, count: count)
      return buffer
    }
    labels = .allocate(capacity: capacity)
    labels.initialize(repeating: 0, count: capacity)
  }

  deinit {
    input.deallocate()
    for buffer in activations { buffer.deallocate() }
    for buffer in scratch { buffer.deallocate() }
    labels.deallocate()
  }

  /// Copies the samples `indices[range]` of `data` into the input and label buffers.
  func load(
    _ features: UnsafePointer<Float>, _ labelSource: UnsafePointer<Int32>, rowLength: Int,
    indices: UnsafeBufferPointer<Int>
  ) {
    for (row, index) in indices.enumerated() {
      (input + row * rowLength).update(from: features + index * rowLength, count: rowLength)
      labels[row] = labelSource[index]
    }
  }

  /// Runs the forward pass on the first `batch` loaded samples; returns the logits.
  @discardableResult
  func forward(batch: Int, parameters: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
    var x = UnsafePointer(input)
    for (index, layer) in network.layers.enumerated() {
      layer.forward(
        batch: batch, input: x, output: activations[index],
        parameters: parameters + network.offsets[index], scratch: scratch[index])
      x = UnsafePointer(activations[index])
    }
    return activations[activations.count - 1]
  }
}
