/// A convolutional network of conv-relu-maxpool blocks, then dense layers.
///
/// Per entry of `channels`: a `kernel x kernel` convolution with size-preserving zero padding, ReLU
/// and 2x2 max pooling (run as pooling then ReLU, the same function and gradient); then flatten,
/// `dense-relu` per entry of `dense`, and a dense output. The default (`[32, 64]`, 5, `[512]`) is
/// the FedAvg paper's CNN (McMahan et al. 2017; 1,663,370 parameters on 28x28x1).
public struct CNNModel: ModelArchitecture {
  public static let descriptor = PluginDescriptor(
    name: "cnn",
    summary: "conv-relu-maxpool blocks then dense layers (the FedAvg CNN by default)",
    reference:
      "McMahan et al. 2017, Communication-Efficient Learning of Deep Networks from Decentralized Data (CNN)",
    parameters: [
      ParameterSpec(
        "channels", .array(.integer(min: 1, max: 4096), minCount: 1, maxCount: 8),
        default: .array([.number(32), .number(64)]), doc: "filters of each convolution block"),
      ParameterSpec(
        "kernel", .oddInteger(min: 1, max: 15), default: .number(5),
        doc: "kernel side, odd for size-preserving padding"),
      ParameterSpec(
        "dense", .array(.integer(min: 1, max: 65_536), minCount: 0, maxCount: 16),
        default: .array([.number(512)]), doc: "hidden dense widths after the convolutions"),
    ],
    notes: ["image datasets only"])

  /// Filters per block.
  public let channels: [Int]
  /// Kernel side.
  public let kernel: Int
  /// Hidden dense widths.
  public let dense: [Int]

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    channels = parameters.ints("channels") ?? [32, 64]
    kernel = parameters.int("kernel") ?? 5
    dense = parameters.ints("dense") ?? [512]
    var ok = true
    if context.isImage == false {
      validator.fail(
        parameters.path.appending("name"),
        "\"cnn\" needs image data, but the dataset is tabular (use \"mlp\" or \"logistic\")")
      ok = false
    } else if let shape = context.shape, !Self.fits(shape, blocks: channels.count) {
      validator.fail(
        parameters.path("channels"),
        "\(channels.count) pooling blocks do not fit \(shape.height)x\(shape.width) images (each halves the size)"
      )
      ok = false
    }
    if !ok { return nil }
  }

  public func check(input: Shape, at path: JSONPath) -> ScenarioError? {
    Self.fits(input, blocks: channels.count)
      ? nil
      : ScenarioError(
        path.appending("channels"),
        "\(channels.count) pooling blocks do not fit the loaded \(input.height)x\(input.width) images "
          + "(each halves the size)")
  }

  static func fits(_ shape: Shape, blocks: Int) -> Bool {
    var (h, w) = (shape.height, shape.width)
    for _ in 0..<blocks {
      guard h >= 2 && w >= 2 else { return false }
      (h, w) = (h / 2, w / 2)
    }
    return true
  }

  public func build(input: Shape, classes: Int) -> Network {
    Self.network(input: input, classes: classes, channels: channels, kernel: kernel, dense: dense)
  }

  /// The CNN for `input` (defaults: the FedAvg CNN with 10 classes).
  /// - Parameters:
  ///   - input: the image shape.
  ///   - classes: number of classes.
  ///   - channels: filters per block.
  ///   - kernel: kernel side (odd).
  ///   - dense: hidden dense widths.
  /// - Returns: the CNN for `input` (defaults: the FedAvg CNN with 10 classes).
  public static func network(
    input: Shape, classes: Int = 10, channels: [Int] = [32, 64], kernel: Int = 5,
    dense: [Int] = [512]
  ) -> Network {
    var layers: [any Layer] = []
    var shape = input
    for filters in channels {
      let conv = Conv2D(shape: shape, filters: filters, kernel: kernel, padding: (kernel - 1) / 2)
      let pool = MaxPool2D(shape: conv.outputShape)
      // Pooling before ReLU: max(relu(x)) = relu(max(x)) and the gradient
      // reaches the same element, so the block is the same function (on
      // finite inputs; the data loaders refuse NaN and infinite values) with
      // ReLU on a quarter of the values. Neither has parameters, so the
      // PyTorch names of the convolutions (layers.0, layers.3) are unchanged.
      layers += [conv, pool, ReLU(shape: pool.outputShape)]
      shape = pool.outputShape
    }
    layers.append(Flatten(shape: shape))
    let (stack, width) = denseReLUStack(from: shape.count, widths: dense)
    return Network(layers: layers + stack + [Dense(inputs: width, outputs: classes)])
  }
}
