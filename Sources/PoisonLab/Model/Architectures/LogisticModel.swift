/// Softmax regression: one dense layer from the (flattened) input to the
/// classes, trained with cross-entropy.
public struct LogisticModel: ModelArchitecture {
  public static let descriptor = PluginDescriptor(
    name: "logistic", summary: "softmax regression (one dense layer)")

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {}

  public func build(input: Shape, classes: Int) -> Network {
    Network(layers: [Dense(inputs: input.count, outputs: classes)])
  }
}
