/// A model plug-in (`model.name`): builds the ``Network`` for the data's
/// sample shape and class count.
public protocol ModelArchitecture: Plugin {
  /// The network for samples of `input` and `classes` outputs.
  /// - Parameters:
  ///   - input: the sample shape.
  ///   - classes: number of classes.
  /// - Returns: the network for samples of `input` and `classes` outputs.
  func build(input: Shape, classes: Int) -> Network

  /// Checks the architecture against the data actually loaded (its shape may
  /// differ from what validation assumed).
  /// - Parameters:
  ///   - input: the loaded sample shape.
  ///   - path: the model's location in the scenario.
  /// - Returns: the problem, or nil when the model fits.
  func check(input: Shape, at path: JSONPath) -> ScenarioError?
}

extension ModelArchitecture {
  /// Dense models take any input.
  public func check(input: Shape, at path: JSONPath) -> ScenarioError? { nil }
}

/// `[dense(w), relu]` per width from `inputs` features; returns the layers and the last width.
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
