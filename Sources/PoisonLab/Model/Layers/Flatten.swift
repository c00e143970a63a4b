/// Reshapes an image `height x width x channels` into a vector of the same
/// floats (channels-last order), for the dense layers after convolutions.
public struct Flatten: Layer {
  /// The image shape in.
  public let shape: Shape

  /// Creates a flatten layer for samples of `shape`.
  /// - Parameter shape: the image shape.
  public init(shape: Shape) { self.shape = shape }

  public var inputShape: Shape { shape }
  public var outputShape: Shape { Shape(features: shape.count) }
  public var description: String { "flatten \(shape) -> \(shape.count)" }

  public func forward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    output.update(from: input, count: batch * shape.count)
  }

  public func backward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    inputGradient?.update(from: outputGradient, count: batch * shape.count)
  }
}
