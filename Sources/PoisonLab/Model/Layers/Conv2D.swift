/// A 2-D convolution, stride 1, zero padding, over channels-last images,
/// computed as `sgemm` products on im2col matrices of cache-sized chunks of
/// the batch.
///
/// `y[b, oy, ox, o] = bias[o] + sum_{ky,kx,i} W[o, ky, kx, i] * x[b, oy + ky - p, ox + kx - p, i]`
///
/// Parameters, in order: `W` (`filters x kernel x kernel x channels`) then
/// `bias` (`filters`). Initialisation: PyTorch's default for `Conv2d`,
/// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with `fan_in = channels * kernel^2`.
/// The im2col matrix has one row per output pixel of the chunk
/// (`samples * H_out * W_out` rows of `kernel^2 * channels`), so the product
/// lands directly in channels-last order with no transpose. The weight
/// gradient is accumulated chunk by chunk (`beta = 1` after the first).
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
  /// Samples per im2col chunk when set (tests); nil: sized to the cache.
  let chunk: Int?

  /// Creates a convolution.
  /// - Parameters:
  ///   - shape: the input image shape.
  ///   - filters: output channels (> 0).
  ///   - kernel: kernel side (> 0).
  ///   - padding: zero padding per side (>= 0); `(kernel - 1) / 2` keeps the size.
  ///   - chunk: samples per im2col chunk (default: as many as fit in about 1 MiB).
  public init(shape: Shape, filters: Int, kernel: Int, padding: Int, chunk: Int? = nil) {
    precondition(filters > 0 && kernel > 0 && padding >= 0, "Conv2D: bad sizes")
    precondition(
      shape.height + 2 * padding >= kernel && shape.width + 2 * padding >= kernel,
      "Conv2D: kernel larger than the padded image")
    self.shape = shape
    self.filters = filters
    self.kernel = kernel
    self.padding = padding
    self.chunk = chunk.map { max(1, $0) }
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
    let chunkRows = min(batch, samplesPerChunk) * outputShape.height * outputShape.width
    return chunkRows * patch * (needsInputGradient ? 2 : 1)
  }

  /// Samples whose im2col rows are built and used at once.
  ///
  /// As many as fit in about 1 MiB (at least one), so that each product
  /// reads its columns from cache. The columns are rebuilt in the backward pass rather than
  /// kept: an im2col pass is cheaper than streaming the whole batch's
  /// columns (20 MB for the FedAvg CNN's second convolution) from memory.
  public var samplesPerChunk: Int {
    chunk ?? max(1, (1 << 18) / max(1, outputShape.height * outputShape.width * patch))
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
    let pixels = outputShape.height * outputShape.width
    let bias = parameters + filters * patch
    for row in 0..<(batch * pixels) { (output + row * filters).update(from: bias, count: filters) }
    forEachChunk(batch: batch) { first, count in
      imageToColumns(batch: count, input: input + first * shape.count, columns: scratch)
      BLAS.gemm(
        .none, .transposed, m: count * pixels, n: filters, k: patch, a: scratch, lda: patch,
        b: parameters, ldb: patch, beta: 1, c: output + first * pixels * filters, ldc: filters)
    }
  }

  public func backward(
    batch: Int, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let pixels = outputShape.height * outputShape.width
    if let parameterGradient {
      sumRows(
        outputGradient, rows: batch * pixels, columns: filters,
        into: parameterGradient + filters * patch)
      if batch == 0 { parameterGradient.update(repeating: 0, count: filters * patch) }
    }
    let columnGradient = scratch + min(batch, samplesPerChunk) * pixels * patch
    forEachChunk(batch: batch) { first, count in
      let rows = count * pixels
      let gradient = outputGradient + first * pixels * filters
      // dW += dY^T cols, over the chunk's rebuilt columns.
      if let parameterGradient {
        imageToColumns(batch: count, input: input + first * shape.count, columns: scratch)
        BLAS.gemm(
          .transposed, .none, m: filters, n: patch, k: rows, a: gradient, lda: filters,
          b: scratch, ldb: patch, beta: first == 0 ? 0 : 1, c: parameterGradient, ldc: patch)
      }
      guard let inputGradient else { return }
      // dCols = dY W, then scatter-add back to the images (col2im).
      BLAS.gemm(
        .none, .none, m: rows, n: patch, k: filters, a: gradient, lda: filters,
        b: parameters, ldb: patch, c: columnGradient, ldc: patch)
      columnsToImage(
        batch: count, columns: columnGradient, image: inputGradient + first * shape.count)
    }
  }

  /// Calls `body(first, count)` for consecutive chunks of `samplesPerChunk`
  /// samples covering `0 ..< batch`.
  private func forEachChunk(batch: Int, _ body: (Int, Int) -> Void) {
    var first = 0
    while first < batch {
      let count = min(samplesPerChunk, batch - first)
      body(first, count)
      first += count
    }
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
