/// Sign flipping: every attacker sends `-scale * mean(benign updates)`
/// (Allen-Zhu et al., ICLR 2021; ByzFL's SignFlipping).
public struct SignFlip: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "sign-flip", summary: "send -scale x the mean benign update",
    reference:
      "Allen-Zhu, Ebrahimian, Li & Alistarh 2021, Byzantine-Resilient Non-Convex SGD (ICLR)",
    parameters: [
      ParameterSpec(
        "scale", .number(atLeast: 0, open: true), default: .number(1),
        doc: "multiplier of the negated mean")
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The multiplier.
  public let scale: Float

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("sign-flip", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    scale = Float(parameters.double("scale") ?? 1)
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    view.repeated(view.benignMoments().mean.map { -scale * $0 })
  }
}
