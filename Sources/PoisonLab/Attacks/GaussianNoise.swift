/// Gaussian noise: each attacker sends an independent `N(0, std^2)` vector
/// (ByzFL's Gaussian, Blades' Noise, FLPoison's Gaussian).
public struct GaussianNoise: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "gaussian", summary: "send N(0, std^2) noise in every coordinate",
    reference:
      "Blanchard et al. 2017 (the Gaussian Byzantine worker of the Krum paper's experiments)",
    parameters: [
      ParameterSpec(
        "std", .number(atLeast: 0, open: true), default: .number(1), doc: "noise standard deviation"
      )
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The standard deviation.
  public let std: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("gaussian", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    std = parameters.double("std") ?? 1
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    (0..<(view.attackers * view.dimension)).map { _ in Float(rng.nextGaussian() * std) }
  }
}
