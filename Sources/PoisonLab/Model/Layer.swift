/// The shape of one sample between layers, channels-last: `height x width x channels`.
///
/// Tabular data and dense activations use `1 x 1 x features`.
public struct Shape: Sendable, Equatable, CustomStringConvertible {
  /// Rows of an image (1 for vectors).
  public var height: Int
  /// Columns of an image (1 for vectors).
  public var width: Int
  /// Channels of an image, or the length of a vector.
  public var channels: Int

  /// Creates an image shape.
  /// - Parameters:
  ///   - height: rows.
  ///   - width: columns.
  ///   - channels: channels per pixel.
  public init(height: Int, width: Int, channels: Int) {
    self.height = height
    self.width = width
    self.channels = channels
  }

  /// Creates a vector shape of `features` elements.
  /// - Parameter features: the vector length.
  public init(features: Int) { self.init(height: 1, width: 1, channels: features) }

  /// Floats per sample.
  public var count: Int { height * width * channels }

  public var description: String {
    height == 1 && width == 1 ? "\(channels)" : "\(height)x\(width)x\(channels)"
  }
}

/// Floating-point operations of a layer's matrix products, per sample.
public struct LayerFlops: Sendable, Equatable {
  /// Forward pass.
  public var forward: Int
  /// Gradient with respect to the parameters.
  public var backwardParameters: Int
  /// Gradient with respect to the input (skipped for the first layer).
  public var backwardInput: Int
}

/// A differentiable layer acting on a batch of samples stored contiguously.
///
/// A layer holds no parameters itself: it reads and writes its slice of the
/// model's one flat parameter vector, so federated updates and aggregation
/// work on whole flat vectors. All buffers are owned by a ``Trainer`` or an
/// ``Evaluator`` and allocated once; layers never allocate.
public protocol Layer: Sendable, CustomStringConvertible {
  /// The shape of one input sample.
  var inputShape: Shape { get }
  /// The shape of one output sample.
  var outputShape: Shape { get }
  /// Number of floats of this layer's slice of the parameter vector.
  var parameterCount: Int { get }
  /// Matrix-product operations per sample (for throughput reports).
  var flops: LayerFlops { get }

  /// Floats of scratch memory kept from `forward` to `backward` for a batch.
  /// - Parameters:
  ///   - batch: the largest batch.
  ///   - needsInputGradient: whether `backward` will compute the input gradient.
  /// - Returns: the number of floats.
  func scratchCount(batch: Int, needsInputGradient: Bool) -> Int

  /// Writes initial parameters (PyTorch's defaults for the layer type).
  /// - Parameters:
  ///   - parameters: this layer's slice of the parameter vector.
  ///   - rng: the generator to draw from.
  func initialize(_ parameters: UnsafeMutableBufferPointer<Float>, using rng: inout SplitMix64)

  /// Computes `output` for `batch` samples of `input`.
  /// - Parameters:
  ///   - batch: number of samples.
  ///   - input: `batch x inputShape.count` floats.
  ///   - output: `batch x outputShape.count` floats.
  ///   - parameters: this layer's slice of the parameter vector.
  ///   - scratch: this layer's scratch memory.
  func forward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>)

  /// Back-propagates `outputGradient`: writes (overwrites) this layer's
  /// parameter gradient and the input gradient, each when requested.
  /// - Parameters:
  ///   - batch: number of samples.
  ///   - input: the input given to `forward`.
  ///   - output: the output `forward` wrote.
  ///   - outputGradient: dLoss/dOutput.
  ///   - inputGradient: dLoss/dInput, or `nil` when not needed.
  ///   - parameters: this layer's slice of the parameter vector.
  ///   - parameterGradient: this layer's slice of the gradient vector, or
  ///     nil when only the input gradient is wanted (it is then not computed).
  ///   - scratch: the scratch memory `forward` used.
  func backward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>)
}

extension Layer {
  /// No parameters by default.
  public var parameterCount: Int { 0 }
  /// No matrix products by default.
  public var flops: LayerFlops { LayerFlops(forward: 0, backwardParameters: 0, backwardInput: 0) }
  /// No scratch memory by default.
  public func scratchCount(batch: Int, needsInputGradient: Bool) -> Int { 0 }
  /// Nothing to initialise by default.
  public func initialize(
    _ parameters: UnsafeMutableBufferPointer<Float>, using rng: inout SplitMix64
  ) {}
}

/// Fills `buffer` with U(-bound, bound): PyTorch's default for `Linear` and
/// `Conv2d` weights and biases, `bound = 1 / sqrt(fan_in)` (its
/// `kaiming_uniform_(a: sqrt(5))` reduces to this bound).
func uniformInitialize(
  _ buffer: UnsafeMutableBufferPointer<Float>, bound: Float, using rng: inout SplitMix64
) {
  for i in buffer.indices { buffer[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
}
