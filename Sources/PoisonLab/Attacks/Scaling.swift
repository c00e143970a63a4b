/// Scaling: each attacker trains honestly and sends `factor x` its own update
/// (the boosting of Bhagoji et al., ICML 2019, without a backdoor objective).
public struct Scaling: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "scaling", summary: "send factor x the attacker's own honest update",
    reference:
      "Bhagoji, Chakraborty, Mittal & Calo 2019, Analyzing Federated Learning through an Adversarial Lens (ICML)",
    parameters: [
      ParameterSpec(
        "factor", .number(min: nil, max: nil, minOpen: false, maxOpen: false), default: .number(10),
        doc: "the multiplier")
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The multiplier.
  public let factor: Float
  public var needsOwnUpdates: Bool { true }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("scaling", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    factor = Float(parameters.double("factor") ?? 10)
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    (view.own ?? view.benign).values.prefix(view.attackers * view.dimension).map { factor * $0 }
  }
}
