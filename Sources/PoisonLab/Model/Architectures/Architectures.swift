/// The model architectures of the scenario contract, as ``Network`` builders.
public enum Architectures {
  /// Softmax regression: one dense layer from the input to the classes.
  /// - Parameters:
  ///   - input: the sample shape.
  ///   - classes: number of classes.
  public static func logistic(input: Shape, classes: Int) -> Network {
    Network(layers: [Dense(inputs: input.count, outputs: classes)])
  }

  /// A multilayer perceptron: `dense-relu` per hidden width, then a dense
  /// output layer. `[200, 200]` is the "2NN" of McMahan et al. (2017).
  /// - Parameters:
  ///   - input: the sample shape (images are used flattened).
  ///   - classes: number of classes.
  ///   - hidden: hidden widths.
  public static func mlp(input: Shape, classes: Int, hidden: [Int]) -> Network {
    var layers: [any Layer] = []
    var width = input.count
    for h in hidden {
      layers.append(Dense(inputs: width, outputs: h))
      layers.append(ReLU(shape: Shape(features: h)))
      width = h
    }
    layers.append(Dense(inputs: width, outputs: classes))
    return Network(layers: layers)
  }

  /// A CNN: per entry of `channels`, a `kernel x kernel` convolution with
  /// size-preserving zero padding, ReLU and 2x2 max pooling; then flatten,
  /// `dense-relu` per entry of `dense`, and a dense output layer. The default
  /// (`[32, 64]`, 5, `[512]`) is the FedAvg paper's CNN (McMahan et al. 2017;
  /// 1,663,370 parameters on 28x28x1).
  /// - Parameters:
  ///   - input: the image shape.
  ///   - classes: number of classes.
  ///   - channels: filters of each convolution block.
  ///   - kernel: the (odd) kernel side.
  ///   - dense: widths of the hidden dense layers.
  public static func cnn(
    input: Shape, classes: Int, channels: [Int], kernel: Int, dense: [Int]
  ) -> Network {
    var layers: [any Layer] = []
    var shape = input
    for filters in channels {
      let conv = Conv2D(shape: shape, filters: filters, kernel: kernel, padding: (kernel - 1) / 2)
      layers.append(conv)
      layers.append(ReLU(shape: conv.outputShape))
      let pool = MaxPool2D(shape: conv.outputShape)
      layers.append(pool)
      shape = pool.outputShape
    }
    layers.append(Flatten(shape: shape))
    var width = shape.count
    for h in dense {
      layers.append(Dense(inputs: width, outputs: h))
      layers.append(ReLU(shape: Shape(features: h)))
      width = h
    }
    layers.append(Dense(inputs: width, outputs: classes))
    return Network(layers: layers)
  }

  /// Whether `cnn` accepts images of `shape` with `blocks` pooling stages.
  /// - Parameters:
  ///   - shape: the image shape.
  ///   - blocks: number of convolution blocks.
  public static func cnnFits(_ shape: Shape, blocks: Int) -> Bool {
    var (h, w) = (shape.height, shape.width)
    for _ in 0..<blocks {
      guard h >= 2 && w >= 2 else { return false }
      (h, w) = (h / 2, w / 2)
    }
    return h >= 1 && w >= 1
  }
}
