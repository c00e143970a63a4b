/// The rectified linear unit `y = max(0, x)`, element-wise.
///
/// The gradient is `dx = dy` where `y > 0` and 0 elsewhere (PyTorch's choice
/// at `x = 0`).
public struct ReLU: Layer {
  /// The shape in and out.
  public let shape: Shape

  /// Creates a ReLU for samples of `shape`.
  /// - Parameter shape: the sample shape.
  public init(shape: Shape) { self.shape = shape }

  public var inputShape: Shape { shape }
  public var outputShape: Shape { shape }
  public var description: String { "relu" }

  public func forward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    for i in 0..<(batch * shape.count) { output[i] = input[i] > 0 ? input[i] : 0 }
  }

  public func backward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    guard let inputGradient else { return }
    // Both values are loaded unconditionally, so that the choice is a
    // branch-free select the compiler vectorises (a conditional load had
    // compiled to a branch, mispredicted on half the units).
    for i in 0..<(batch * shape.count) {
      let gradient = outputGradient[i]
      inputGradient[i] = output[i] > 0 ? gradient : 0
    }
  }
}
