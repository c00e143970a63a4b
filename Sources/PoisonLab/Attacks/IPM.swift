/// Inner product manipulation: send a negatively scaled benign mean.
///
/// Inner product manipulation (Xie, Koyejo & Gupta, UAI 2019): every
/// attacker sends `-epsilon * mean(benign updates)`. A small epsilon (0.1,
/// the default, as in epfml) targets median- and Krum-type rules; a large
/// one (e.g. 100) defeats the mean.
public struct IPM: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "ipm", summary: "send -epsilon x the mean benign update",
    reference:
      "Xie, Koyejo & Gupta 2019, Fall of Empires: Breaking Byzantine-tolerant SGD by Inner Product Manipulation (UAI)",
    parameters: [
      ParameterSpec(
        "epsilon", .number(atLeast: 0, open: true), default: .number(0.1), doc: "the multiplier")
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The multiplier.
  public let epsilon: Float

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("ipm", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    epsilon = Float(parameters.double("epsilon") ?? 0.1)
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    view.repeated(view.benignMoments().mean.map { -epsilon * $0 })
  }
}
