import Dispatch

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
  let workspace: Workspace

  /// Creates an evaluator whose workspace stays within `memoryBudget` bytes
  /// (at least one sample per batch, at most `maxBatch`).
  /// - Parameters:
  ///   - network: the architecture.
  ///   - maxBatch: the largest batch (default 1,000).
  ///   - memoryBudget: bytes for activations and im2col buffers (default 128 MiB).
  public init(network: Network, maxBatch: Int = 1000, memoryBudget: Int = 128 << 20) {
    self.network = network
    let batch = Self.batchSize(network: network, maxBatch: maxBatch, memoryBudget: memoryBudget)
    self.batchSize = batch
    workspace = Workspace(network: network, capacity: batch, training: false)
  }

  /// The batch an evaluator of `network` uses.
  static func batchSize(network: Network, maxBatch: Int = 1000, memoryBudget: Int = 128 << 20)
    -> Int
  {
    max(1, min(maxBatch, memoryBudget / max(1, perSampleFloats(network) * 4)))
  }

  /// Floats of workspace per sample: input, every activation and scratch.
  static func perSampleFloats(_ network: Network) -> Int {
    var perSample = network.inputShape.count
    for layer in network.layers {
      perSample += layer.outputShape.count + layer.scratchCount(batch: 1, needsInputGradient: false)
    }
    return perSample
  }

  /// Bytes one evaluator's workspace takes (for the memory estimate).
  /// - Parameter network: the architecture.
  /// - Returns: the bytes.
  public static func workspaceBytes(network: Network) -> Int {
    // The batch is chosen as if scratch grew with it; a convolution's
    // scratch is one chunk of samples, so count what is really allocated.
    let batch = batchSize(network: network)
    var floats = network.inputShape.count.multipliedSaturating(batch)
    for layer in network.layers {
      floats = floats.addingSaturating(
        layer.outputShape.count.multipliedSaturating(batch)
          .addingSaturating(max(1, layer.scratchCount(batch: batch, needsInputGradient: false))))
    }
    return floats.multipliedSaturating(4)
  }

  /// Accuracy, loss and predictions of `parameters` on `data` (one thread).
  /// - Parameters:
  ///   - parameters: the flat parameter vector.
  ///   - data: the samples to classify.
  /// - Returns: accuracy, loss and predictions of `parameters` on `data` (one thread).
  public func evaluate(parameters: [Float], on data: Dataset) -> Evaluation {
    Evaluator.evaluate(parameters: parameters, on: data, using: [self])
  }

  /// Classifies samples `start ..< start + count` (at most `batchSize`).
  private func chunk(
    parameters: UnsafePointer<Float>, features: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
    indices: UnsafeBufferPointer<Int>, predictions: UnsafeMutablePointer<Int32>
  ) -> (correct: Int, loss: Double) {
    workspace.load(features, labels, rowLength: network.inputShape.count, indices: indices)
    let logits = workspace.forward(batch: indices.count, parameters: parameters)
    let loss = SoftmaxCrossEntropy.evaluate(
      logits: logits, labels: workspace.labels, batch: indices.count, classes: network.outputCount,
      predictions: predictions)
    var correct = 0
    for i in 0..<indices.count where predictions[i] == workspace.labels[i] { correct += 1 }
    return (correct, loss)
  }

  /// Evaluates in parallel, one thread per evaluator.
  ///
  /// The data is cut into
  /// chunks of `batchSize` whatever the thread count, and chunk losses are
  /// added in chunk order, so the result is identical for any number of
  /// evaluators (all must be built alike).
  /// - Parameters:
  ///   - parameters: the flat parameter vector.
  ///   - data: the samples to classify.
  ///   - evaluators: one per thread.
  /// - Returns: accuracy, loss and predictions over all of `data`.
  public static func evaluate(
    parameters: [Float], on data: Dataset, using evaluators: [Evaluator]
  ) -> Evaluation {
    precondition(!evaluators.isEmpty, "at least one evaluator")
    let network = evaluators[0].network
    precondition(parameters.count == network.parameterCount, "parameter vector length")
    let n = data.count
    let size = evaluators[0].batchSize
    let chunks = (n + size - 1) / size
    var predictions = [Int32](repeating: 0, count: n)
    var results = [(correct: Int, loss: Double)](repeating: (0, 0), count: chunks)
    let indices = Array(0..<n)
    parameters.withUnsafeBufferPointer { params in
      data.features.withUnsafeBufferPointer { features in
        data.labels.withUnsafeBufferPointer { labels in
          indices.withUnsafeBufferPointer { indices in
            predictions.withUnsafeMutableBufferPointer { predicted in
              results.withUnsafeMutableBufferPointer { results in
                guard let p = params.baseAddress, let f = features.baseAddress,
                  let l = labels.baseAddress, let out = predicted.baseAddress,
                  let r = results.baseAddress
                else { return }
                let shared = Unchecked((p, f, l, indices, out, r, evaluators))
                let workers = min(evaluators.count, chunks)
                DispatchQueue.concurrentPerform(iterations: max(workers, 1)) { worker in
                  let (p, f, l, indices, out, r, evaluators) = shared.value
                  for c in stride(from: worker, to: chunks, by: max(workers, 1)) {
                    let start = c * size
                    let count = min(size, n - start)
                    r[c] = evaluators[worker].chunk(
                      parameters: p, features: f, labels: l,
                      indices: UnsafeBufferPointer(rebasing: indices[start..<(start + count)]),
                      predictions: out + start)
                  }
                }
              }
            }
          }
        }
      }
    }
    var correct = 0
    var loss = 0.0
    for result in results {
      correct += result.correct
      loss += result.loss
    }
    return Evaluation(count: n, correct: correct, lossSum: loss, predictions: predictions)
  }
}

extension Evaluator {
  /// The activations of layer `layer` (its output) for every sample, in batches.
  /// - Parameters:
  ///   - parameters: the flat parameter vector.
  ///   - data: the samples.
  ///   - layer: the layer index whose output is returned.
  /// - Returns: `data.count x outputShape.count` floats, row-major.
  public func activations(parameters: [Float], on data: Dataset, layer: Int) -> [Float] {
    let width = network.layers[layer].outputShape.count
    let n = data.count
    var out = [Float](repeating: 0, count: n * width)
    let indices = Array(0..<n)
    parameters.withUnsafeBufferPointer { params in
      data.features.withUnsafeBufferPointer { features in
        data.labels.withUnsafeBufferPointer { labels in
          indices.withUnsafeBufferPointer { indices in
            out.withUnsafeMutableBufferPointer { target in
              guard let p = params.baseAddress, let f = features.baseAddress,
                let l = labels.baseAddress,
                let t = target.baseAddress
              else { return }
              var start = 0
              while start < n {
                let count = min(batchSize, n - start)
                workspace.load(
                  f, l, rowLength: network.inputShape.count,
                  indices: UnsafeBufferPointer(rebasing: indices[start..<(start + count)]))
                workspace.forward(batch: count, parameters: p)
                (t + start * width).update(from: workspace.activations[layer], count: count * width)
                start += count
              }
            }
          }
        }
      }
    }
    return out
  }
}

/// Hands values to worker threads that the caller guarantees are used
/// without data races (disjoint buffers, one evaluator or trainer per thread).
struct Unchecked<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
