/// Test-set figures of a model.
public struct Evaluation: Sendable, Equatable {
  /// Samples evaluated.
  public var count: Int
  /// Samples whose argmax class equals the label.
  public var correct: Int
  /// Sum of per-sample cross-entropy losses.
  public var lossSum: Double
  /// The argmax class of each sample.
  public var predictions: [Int32]

  /// `correct / count` (0 for an empty set).
  public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }
  /// `lossSum / count` (0 for an empty set).
  public var meanLoss: Double { count > 0 ? lossSum / Double(count) : 0 }
}

/// Evaluates a ``Network`` in large batches (large GEMMs), with buffers
/// allocated once per evaluator.
public final class Evaluator {
  /// The network evaluated.
  public let network: Network
  /// Samples per forward pass.
  public let batchSize: Int
  private let workspace: Workspace

  /// Creates an evaluator whose workspace stays within `memoryBudget` bytes
  /// (at least one sample per batch, at most `maxBatch`).
  /// - Parameters:
  ///   - network: the architecture.
  ///   - maxBatch: the largest batch (default 1,000).
  ///   - memoryBudget: bytes for activations and im2col buffers (default 128 MiB).
  public init(network: Network, maxBatch: Int = 1000, memoryBudget: Int = 128 << 20) {
    self.network = network
    var perSample = network.inputShape.count
    for layer in network.layers {
      perSample += layer.outputShape.count + layer.scratchCount(batch: 1, needsInputGradient: false)
    }
    let batch = max(1, min(maxBatch, memoryBudget / max(1, perSample * 4)))
    self.batchSize = batch
    workspace = Workspace(network: network, capacity: batch, training: false)
  }

  /// Accuracy, loss and predictions of `parameters` on `data`.
  /// - Parameters:
  ///   - parameters: the flat parameter vector.
  ///   - data: the samples to classify.
  public func evaluate(parameters: [Float], on data: Dataset) -> Evaluation {
    precondition(parameters.count == network.parameterCount, "parameter vector length")
    let n = data.count
    var predictions = [Int32](repeating: 0, count: n)
    var lossSum = 0.0
    var correct = 0
    let indices = Array(0..<n)
    let classes = network.outputCount
    parameters.withUnsafeBufferPointer { params in
      data.features.withUnsafeBufferPointer { features in
        data.labels.withUnsafeBufferPointer { labels in
          indices.withUnsafeBufferPointer { indices in
            predictions.withUnsafeMutableBufferPointer { predicted in
              guard let p = params.baseAddress, let f = features.baseAddress,
                let l = labels.baseAddress, let out = predicted.baseAddress
              else { return }
              var start = 0
              while start < n {
                let count = min(batchSize, n - start)
                workspace.load(
                  f, l, rowLength: network.inputShape.count,
                  indices: UnsafeBufferPointer(rebasing: indices[start..<(start + count)]))
                let logits = workspace.forward(batch: count, parameters: p)
                lossSum += SoftmaxCrossEntropy.evaluate(
                  logits: logits, labels: workspace.labels, batch: count, classes: classes,
                  predictions: out + start)
                for i in 0..<count where out[start + i] == l[start + i] { correct += 1 }
                start += count
              }
            }
          }
        }
      }
    }
    return Evaluation(count: n, correct: correct, lossSum: lossSum, predictions: predictions)
  }
}
