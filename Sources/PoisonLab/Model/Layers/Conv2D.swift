/// A 2-D convolution, stride 1, zero padding, over channels-last images,
/// computed as one `sgemm` per batch on an im2col matrix.
///
/// `y[b, oy, ox, o] = bias[o] + sum_{ky, kx, i} W[o, ky, kx, i] * x[b, oy + ky - p, ox + kx - p, i]`
///
/// Parameters, in order: `W` (`filters x kernel x kernel x channels`) then
/// `bias` (`filters`). Initialisation: PyTorch's default for `Conv2d`,
/// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with `fan_in = channels * kernel^2`.
/// The im2col matrix has one row per output pixel of the batch
/// (`batch * H_out * W_out` rows of `kernel^2 * channels`), so the product
/// lands directly in channels-last order with no transpose.
/// - Complexity: `2 * H_out * W_out * kernel^2 * channels * filters` flops per
///   sample forward, the same for each backward product.
public struct Conv2D: Layer {
  /// The image shape in.
  public let shape: Shape
  /// Output channels.
  public let filters: Int
  /// Side of the square kernel.
  public let kernel: Int
  /// Zero padding on each side.
  public let padding: Int

  /// Creates a convolution.
  /// - Parameters:
  ///   - shape: the input image shape.
  ///   - filters: output channels (> 0).
  ///   - kernel: kernel side (> 0).
  ///   - padding: zero padding per side (>= 0); `(kernel - 1) / 2` keeps the size.
  public init(shape: Shape, filters: Int, kernel: Int, padding: Int) {
    precondition(filters > 0 && kernel > 0 && padding >= 0, "Conv2D: bad sizes")
    precondition(
      shape.height + 2 * padding >= kernel && shape.width + 2 * padding >= kernel,
      "Conv2D: kernel larger than the padded image")
    self.shape = shape
    self.filters = filters
    self.kernel = kernel
    self.padding = padding
  }

  /// Columns of the im2col matrix: `kernel^2 * channels`.
  var patch: Int { kernel * kernel * shape.channels }

  public var inputShape: Shape { shape }
  public var outputShape: Shape {
    Shape(
      height: shape.height + 2 * padding - kernel + 1,
      width: shape.width + 2 * padding - kernel + 1, channels: filters)
  }
  public var parameterCount: Int { filters * patch + filters }
  public var flops: LayerFlops {
    let n = 2 * outputShape.height * outputShape.width * patch * filters
    return LayerFlops(forward: n, backwardParameters: n, backwardInput: n)
  }
  public var description: String {
    "conv \(kernel)x\(kernel) pad \(padding) \(shape) -> \(outputShape)"
  }

  public func scratchCount(batch: Int, needsInputGradient: Bool) -> Int {
    let rows = batch * outputShape.height * outputShape.width
    return rows * patch * (needsInputGradient ? 2 : 1)
  }

  public func initialize(
    _ parameters: UnsafeMutableBufferPointer<Float>, using rng: inout SplitMix64
  ) {
    uniformInitialize(parameters, bound: 1 / Float(patch).squareRoot(), using: &rng)
  }

  public func forward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let rows = batch * outputShape.height * outputShape.width
    imageToColumns(batch: batch, input: input, columns: scratch)
    let bias = parameters + filters * patch
    for row in 0..<rows { (output + row * filters).update(from: bias, count: filters) }
    BLAS.gemm(
      .none, .transposed, m: rows, n: filters, k: patch, a: scratch, lda: patch,
      b: parameters, ldb: patch, beta: 1, c: output, ldc: filters)
  }

  public func backward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let rows = batch * outputShape.height * outputShape.width
    // dW = dY^T cols
    BLAS.gemm(
      .transposed, .none, m: filters, n: patch, k: rows, a: outputGradient, lda: filters,
      b: scratch, ldb: patch, c: parameterGradient, ldc: patch)
    sumRows(outputGradient, rows: rows, columns: filters, into: parameterGradient + filters * patch)
    guard let inputGradient else { return }
    // dCols = dY W, then scatter-add back to the image (col2im).
    let columnGradient = scratch + rows * patch
    BLAS.gemm(
      .none, .none, m: rows, n: patch, k: filters, a: outputGradient, lda: filters,
      b: parameters, ldb: patch, c: columnGradient, ldc: patch)
    columnsToImage(batch: batch, columns: columnGradient, image: inputGradient)
  }

  /// Writes one row per output pixel: the `kernel x kernel x channels` patch
  /// around it, zeros outside the image.
  private func imageToColumns(
    batch: Int, input: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>
  ) {
    let (h, w, c) = (shape.height, shape.width, shape.channels)
    let (oh, ow) = (outputShape.height, outputShape.width)
    var row = columns
    for b in 0..<batch {
      let image = input + b * h * w * c
      for oy in 0..<oh {
        for ox in 0..<ow {
          var dst = row
          for ky in 0..<kernel {
            let iy = oy + ky - padding
            if iy < 0 || iy >= h {
              dst.update(repeating: 0, count: kernel * c)
              dst += kernel * c
              continue
            }
            let x0 = ox - padding
            if x0 >= 0 && x0 + kernel <= w {
              dst.update(from: image + (iy * w + x0) * c, count: kernel * c)
              dst += kernel * c
              continue
            }
            for kx in 0..<kernel {
              let ix = x0 + kx
              if ix < 0 || ix >= w {
                dst.update(repeating: 0, count: c)
              } else {
                dst.update(from: image + (iy * w + ix) * c, count: c)
              }
              dst += c
            }
          }
          row += patch
        }
      }
    }
  }

  /// The adjoint of `imageToColumns`: sums each column entry into its pixel.
  private func columnsToImage(
    batch: Int, columns: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>
  ) {
    let (h, w, c) = (shape.height, shape.width, shape.channels)
    let (oh, ow) = (outputShape.height, outputShape.width)
    image.update(repeating: 0, count: batch * h * w * c)
    var row = columns
    for b in 0..<batch {
      let base = image + b * h * w * c
      for oy in 0..<oh {
        for ox in 0..<ow {
          var src = row
          for ky in 0..<kernel {
            let iy = oy + ky - padding
            for kx in 0..<kernel {
              let ix = ox + kx - padding
              if iy >= 0 && iy < h && ix >= 0 && ix < w {
                let dst = base + (iy * w + ix) * c
                for ch in 0..<c { dst[ch] += src[ch] }
              }
              src += c
            }
          }
          row += patch
        }
      }
    }
  }
}
