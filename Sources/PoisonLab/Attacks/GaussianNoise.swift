/// Gaussian noise: attackers send `N(0, std^2)` vectors.
///
/// Each attacker sends an independent one (Blades' Noise, FLPoison's
/// Gaussian), or with `shared: true` every
/// attacker sends the same one (ByzFL's Gaussian, which draws one vector
/// for all its Byzantine workers). Under fedavg with k attackers the
/// independent vectors perturb the mean by `k / n` times a vector of std
/// `std / sqrt(k)`, the shared one by `k / n` times a vector of std `std`:
/// `sqrt(k)` times more.
public struct GaussianNoise: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "gaussian", summary: "send N(0, std^2) noise in every coordinate",
    reference:
      "Blanchard et al. 2017 (the Gaussian Byzantine worker of the Krum paper's experiments)",
    parameters: [
      ParameterSpec(
        "std", .number(atLeast: 0, open: true), default: .number(1), doc: "noise standard deviation"
      ),
      ParameterSpec(
        "shared", .boolean, default: .bool(false), mode: .federated,
        doc: "every attacker sends the same noise vector (ByzFL's semantics); false: one each"),
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The standard deviation.
  public let std: Double
  /// One vector for all attackers.
  public let shared: Bool

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("gaussian", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    std = parameters.double("std") ?? 1
    shared = parameters.bool("shared") ?? false
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    if shared {
      return view.repeated((0..<view.dimension).map { _ in Float(rng.nextGaussian() * std) })
    }
    return (0..<(view.attackers * view.dimension)).map { _ in Float(rng.nextGaussian() * std) }
  }
}
