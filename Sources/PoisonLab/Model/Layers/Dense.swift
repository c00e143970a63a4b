/// A fully connected layer: `y = x W^T + b`.
///
/// Parameters, in order: `W` (`outputs x inputs`, row-major, as PyTorch's
/// `Linear.weight`) then `b` (`outputs`). Initialisation: PyTorch's default,
/// `W, b ~ U(-1/sqrt(inputs), 1/sqrt(inputs))`.
/// - Complexity: forward `2 * batch * inputs * outputs` flops (one `sgemm`);
///   backward the same per gradient.
public struct Dense: Layer {
  /// Features in.
  public let inputs: Int
  /// Features out.
  public let outputs: Int

  /// Creates a dense layer.
  /// - Parameters:
  ///   - inputs: features in (> 0).
  ///   - outputs: features out (> 0).
  public init(inputs: Int, outputs: Int) {
    precondition(inputs > 0 && outputs > 0, "Dense needs positive sizes")
    self.inputs = inputs
    self.outputs = outputs
  }

  public var inputShape: Shape { Shape(features: inputs) }
  public var outputShape: Shape { Shape(features: outputs) }
  public var parameterCount: Int { outputs * inputs + outputs }
  public var flops: LayerFlops {
    let n = 2 * inputs * outputs
    return LayerFlops(forward: n, backwardParameters: n, backwardInput: n)
  }
  public var description: String { "dense \(inputs) -> \(outputs)" }

  public func initialize(
    _ parameters: UnsafeMutableBufferPointer<Float>, using rng: inout SplitMix64
  ) {
    uniformInitialize(parameters, bound: 1 / Float(inputs).squareRoot(), using: &rng)
  }

  public func forward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let bias = parameters + outputs * inputs
    for row in 0..<batch { (output + row * outputs).update(from: bias, count: outputs) }
    BLAS.gemm(
      .none, .transposed, m: batch, n: outputs, k: inputs, a: input, lda: inputs,
      b: parameters, ldb: inputs, beta: 1, c: output, ldc: outputs)
  }

  public func backward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    // dW = dY^T X
    if let parameterGradient {
      BLAS.gemm(
        .transposed, .none, m: outputs, n: inputs, k: batch, a: outputGradient, lda: outputs,
        b: input, ldb: inputs, c: parameterGradient, ldc: inputs)
      sumRows(
        outputGradient, rows: batch, columns: outputs, into: parameterGradient + outputs * inputs)
    }
    // dX = dY W
    if let inputGradient {
      BLAS.gemm(
        .none, .none, m: batch, n: inputs, k: outputs, a: outputGradient, lda: outputs,
        b: parameters, ldb: inputs, c: inputGradient, ldc: inputs)
    }
  }
}

/// `into[j] = sum_i matrix[i, j]` for a row-major `rows x columns` matrix.
@inline(__always)
func sumRows(
  _ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into: UnsafeMutablePointer<Float>
) {
  into.update(repeating: 0, count: columns)
  for row in 0..<rows {
    let source = matrix + row * columns
    for j in 0..<columns { into[j] += source[j] }
  }
}
