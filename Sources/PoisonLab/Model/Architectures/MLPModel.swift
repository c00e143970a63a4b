/// A multilayer perceptron: `dense-relu` per hidden width, then a dense output.
///
/// The default `[200, 200]` is the "2NN" of McMahan et al. 2017
/// (199,210 parameters on 28x28 inputs).
public struct MLPModel: ModelArchitecture {
  public static let descriptor = PluginDescriptor(
    name: "mlp",
    summary: "multilayer perceptron, dense-relu blocks then a dense output",
    reference:
      "McMahan et al. 2017, Communication-Efficient Learning of Deep Networks from Decentralized Data (2NN)",
    parameters: [
      ParameterSpec(
        "hidden", .array(.integer(min: 1, max: 65_536), minCount: 0, maxCount: 64),
        default: .array([.number(200), .number(200)]), doc: "hidden layer widths"),
      ParameterSpec(
        "activation", .choice(["relu"]), default: .string("relu"), doc: "hidden activation"),
    ])

  /// Hidden widths.
  public let hidden: [Int]

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    hidden = parameters.ints("hidden") ?? [200, 200]
  }

  public func build(input: Shape, classes: Int) -> Network {
    Self.network(input: input, classes: classes, hidden: hidden)
  }

  /// The MLP for `input` (defaults: the 2NN with 10 classes).
  /// - Parameters:
  ///   - input: the sample shape.
  ///   - classes: number of classes.
  ///   - hidden: hidden widths.
  /// - Returns: the MLP for `input` (defaults: the 2NN with 10 classes).
  public static func network(input: Shape, classes: Int = 10, hidden: [Int] = [200, 200]) -> Network
  {
    let (layers, width) = denseReLUStack(from: input.count, widths: hidden)
    return Network(layers: layers + [Dense(inputs: width, outputs: classes)])
  }
}
