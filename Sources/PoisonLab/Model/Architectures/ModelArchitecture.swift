/// A model plug-in (`model.name`): builds the ``Network`` for the data's
/// sample shape and class count.
public protocol ModelArchitecture: Plugin {
  /// The network for samples of `input` and `classes` outputs.
  /// - Parameters:
  ///   - input: the sample shape.
  ///   - classes: number of classes.
  /// - Returns: the network for samples of `input` and `classes` outputs.
  func build(input: Shape, classes: Int) -> Network
}

/// `[dense(w), relu]` per width, starting from `inputs` features; returns the layers and the last width.
func denseReLUStack(from inputs: Int, widths: [Int]) -> (layers: [any Layer], width: Int) {
  var layers: [any Layer] = []
  var width = inputs
  for h in widths {
    layers.append(Dense(inputs: width, outputs: h))
    layers.append(ReLU(shape: Shape(features: h)))
    width = h
  }
  return (layers, width)
}
