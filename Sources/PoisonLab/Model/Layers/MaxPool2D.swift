/// 2x2 max pooling with stride 2 over channels-last images.
///
/// Output size is `floor(H/2) x floor(W/2)` (PyTorch's default, odd edges
/// dropped). The gradient goes to the first maximal element of each window in
/// row-major order, as in PyTorch.
public struct MaxPool2D: Layer {
  /// The image shape in.
  public let shape: Shape

  /// Creates a 2x2 pooling layer for images of `shape`.
  /// - Parameter shape: the image shape (height and width >= 2).
  public init(shape: Shape) {
    precondition(shape.height >= 2 && shape.width >= 2, "MaxPool2D needs at least 2x2 images")
    self.shape = shape
  }

  public var inputShape: Shape { shape }
  public var outputShape: Shape {
    Shape(height: shape.height / 2, width: shape.width / 2, channels: shape.channels)
  }
  public var description: String { "maxpool 2x2 \(shape) -> \(outputShape)" }

  public func forward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let c = shape.channels
    let (h, w) = (shape.height, shape.width)
    let (oh, ow) = (h / 2, w / 2)
    for b in 0..<batch {
      let image = input + b * h * w * c
      let out = output + b * oh * ow * c
      for oy in 0..<oh {
        for ox in 0..<ow {
          let p00 = image + ((2 * oy) * w + 2 * ox) * c
          let p01 = p00 + c
          let p10 = p00 + w * c
          let p11 = p10 + c
          let o = out + (oy * ow + ox) * c
          for ch in 0..<c { o[ch] = max(max(p00[ch], p01[ch]), max(p10[ch], p11[ch])) }
        }
      }
    }
  }

  public func backward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    guard let inputGradient else { return }
    let c = shape.channels
    let (h, w) = (shape.height, shape.width)
    let (oh, ow) = (h / 2, w / 2)
    inputGradient.update(repeating: 0, count: batch * h * w * c)
    for b in 0..<batch {
      let base = b * h * w * c
      let outBase = b * oh * ow * c
      for oy in 0..<oh {
        for ox in 0..<ow {
          let o = outBase + (oy * ow + ox) * c
          let i00 = base + ((2 * oy) * w + 2 * ox) * c
          let candidates = (i00, i00 + c, i00 + w * c, i00 + w * c + c)
          for ch in 0..<c {
            let m = output[o + ch]
            let target: Int
            if input[candidates.0 + ch] == m {
              target = candidates.0
            } else if input[candidates.1 + ch] == m {
              target = candidates.1
            } else if input[candidates.2 + ch] == m {
              target = candidates.2
            } else {
              target = candidates.3
            }
            inputGradient[target + ch] += outputGradient[o + ch]
          }
        }
      }
    }
  }
}
