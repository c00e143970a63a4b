/// What one epoch of training produced.
public struct EpochResult: Sendable, Equatable {
  /// Mean training loss over the samples seen.
  public var meanLoss: Double
  /// Samples seen.
  public var samples: Int
  /// False when a loss or a weight became NaN or infinite (training stopped there).
  public var isFinite: Bool
}

/// Trains a ``Network`` with minibatch ``SGD``, owning every buffer it needs.
///
/// All activations, gradients, im2col matrices and the momentum buffer are
/// allocated when the trainer is created; a training step allocates nothing.
/// A trainer is used by one thread at a time (one per client in federated runs).
public final class Trainer {
  /// The network trained.
  public let network: Network
  /// The largest batch a step takes.
  public let batchSize: Int
  /// The optimiser settings.
  public var optimizer: SGD
  private let workspace: Workspace
  private let gradient: UnsafeMutablePointer<Float>
  private let velocity: UnsafeMutablePointer<Float>
  private let deltaA: UnsafeMutablePointer<Float>
  private let deltaB: UnsafeMutablePointer<Float>
  private var order: [Int]

  /// Creates a trainer and its buffers.
  /// - Parameters:
  ///   - network: the architecture.
  ///   - batchSize: the minibatch size (> 0).
  ///   - optimizer: the SGD settings.
  public init(network: Network, batchSize: Int, optimizer: SGD) {
    self.network = network
    self.batchSize = batchSize
    self.optimizer = optimizer
    workspace = Workspace(network: network, capacity: batchSize, training: true)
    let p = max(1, network.parameterCount)
    gradient = .allocate(capacity: p)
    gradient.initialize(repeating: 0, count: p)
    velocity = .allocate(capacity: p)
    velocity.initialize(repeating: 0, count: p)
    let widest = network.layers.map { max($0.inputShape.count, $0.outputShape.count) }.max() ?? 1
    deltaA = .allocate(capacity: batchSize * widest)
    deltaA.initialize(repeating: 0, count: batchSize * widest)
    deltaB = .allocate(capacity: batchSize * widest)
    deltaB.initialize(repeating: 0, count: batchSize * widest)
    order = []
  }

  deinit {
    gradient.deallocate()
    velocity.deallocate()
    deltaA.deallocate()
    deltaB.deallocate()
  }

  /// Clears the momentum buffer (a fresh optimiser, as a new client would have).
  public func resetOptimizerState() {
    velocity.update(repeating: 0, count: max(1, network.parameterCount))
  }

  /// One SGD step on the samples `indices` of `data` (at most `batchSize`).
  /// - Returns: the summed loss of the batch before the step.
  private func step(
    parameters: UnsafeMutablePointer<Float>, features: UnsafePointer<Float>,
    labels: UnsafePointer<Int32>, indices: UnsafeBufferPointer<Int>
  ) -> Double {
    let batch = indices.count
    let classes = network.outputCount
    workspace.load(features, labels, rowLength: network.inputShape.count, indices: indices)
    let logits = workspace.forward(batch: batch, parameters: parameters)
    let loss = SoftmaxCrossEntropy.evaluate(
      logits: logits, labels: workspace.labels, batch: batch, classes: classes, gradient: deltaA)
    var outputGradient = deltaA
    var inputGradient = deltaB
    let layers = network.layers
    for index in stride(from: layers.count - 1, through: network.firstTrainable, by: -1) {
      let input =
        index == 0
        ? UnsafePointer(workspace.input) : UnsafePointer(workspace.activations[index - 1])
      let offset = network.offsets[index]
      layers[index].backward(
        batch: batch, input: input, output: workspace.activations[index],
        outputGradient: outputGradient,
        inputGradient: network.needsInputGradient(index) ? inputGradient : nil,
        parameters: parameters + offset, parameterGradient: gradient + offset,
        scratch: workspace.scratch[index])
      swap(&outputGradient, &inputGradient)
    }
    optimizer.step(
      parameters: parameters, gradient: gradient, velocity: velocity,
      count: network.parameterCount)
    return loss
  }

  /// Trains on `steps` minibatches, or one epoch when `steps` is nil.
  ///
  /// Samples are visited in the order of a Fisher-Yates shuffle drawn from
  /// `rng` (a fresh one per pass); the last partial batch is used.
  /// - Parameters:
  ///   - parameters: the flat parameter vector, updated in place.
  ///   - data: the training samples.
  ///   - rng: the shuffling stream.
  ///   - steps: a fixed number of steps (reshuffling at each pass), or nil for one epoch.
  ///   - progress: called after each step with (samples done, samples total).
  /// - Returns: the mean loss and whether everything stayed finite.
  public func train(
    parameters: inout [Float], on data: Dataset, rng: inout SplitMix64, steps: Int? = nil,
    progress: ((Int, Int) -> Void)? = nil
  ) -> EpochResult {
    precondition(parameters.count == network.parameterCount, "parameter vector length")
    precondition(data.shape.count == network.inputShape.count, "data and network disagree")
    let n = data.count
    if n == 0 { return EpochResult(meanLoss: 0, samples: 0, isFinite: true) }
    if order.count != n { order = Array(0..<n) } else { for i in 0..<n { order[i] = i } }
    let totalSteps = steps ?? (n + batchSize - 1) / batchSize
    let totalSamples = steps.map { $0 * min(batchSize, n) } ?? n
    var lossSum = 0.0
    var seen = 0
    var finite = true
    var remaining = totalSteps
    parameters.withUnsafeMutableBufferPointer { params in
      data.features.withUnsafeBufferPointer { features in
        data.labels.withUnsafeBufferPointer { labels in
          guard let p = params.baseAddress, let f = features.baseAddress,
            let l = labels.baseAddress
          else { return }
          // One pass over a fresh permutation per iteration.
          while remaining > 0 && finite {
            rng.shuffle(&order)
            order.withUnsafeBufferPointer { order in
              var cursor = 0
              while cursor < n && remaining > 0 {
                let count = min(batchSize, n - cursor)
                let batch = UnsafeBufferPointer(rebasing: order[cursor..<(cursor + count)])
                let loss = step(parameters: p, features: f, labels: l, indices: batch)
                cursor += count
                seen += count
                remaining -= 1
                guard loss.isFinite else {
                  finite = false
                  return
                }
                lossSum += loss
                progress?(seen, totalSamples)
              }
            }
          }
        }
      }
    }
    if finite { finite = parameters.allSatisfy { $0.isFinite } }
    return EpochResult(
      meanLoss: seen > 0 ? lossSum / Double(seen) : 0, samples: seen, isFinite: finite)
  }
}
