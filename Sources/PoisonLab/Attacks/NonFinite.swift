/// Non-finite updates: NaN or infinite values in every coordinate.
///
/// A broken or hostile client: every attacker sends an update whose every
/// coordinate is NaN (or +Inf or -Inf). Robust rules reject such updates;
/// `fedavg` and `mean` propagate them and the run stops as diverged.
public struct NonFinite: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "nan", summary: "send NaN (or infinite) values",
    reference: "No paper: a broken or hostile client (the scenario contract's nan attack)",
    parameters: [
      ParameterSpec(
        "value", .choice(["nan", "inf", "-inf"]), default: .string("nan"),
        doc: "the value sent in every coordinate")
    ]
      + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The value sent.
  public let value: Float

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("nan", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    switch parameters.string("value") {
    case "inf": value = .infinity
    case "-inf": value = -.infinity
    default: value = .nan
    }
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    [Float](repeating: value, count: view.attackers * view.dimension)
  }
}
