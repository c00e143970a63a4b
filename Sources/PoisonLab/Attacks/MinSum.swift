/// Min-sum: min-max's search with the sum-of-distances condition (see the min-max attack).
public struct MinSumAttack: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "min-sum",
    summary: "mean minus the largest perturbation within the benign updates' min distance sum",
    reference:
      "Shejwalkar & Houmansadr 2021, Manipulating the Byzantine: Optimizing Model Poisoning Attacks and Defenses for Federated Learning (NDSS)",
    parameters: MinMaxAttack.specs, notes: ["federated runs only"])

  var base: MinMaxAttack
  public var knowledge: Knowledge { base.knowledge }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let base = MinMaxAttack(parameters, context: context, validator: &validator, minSum: true)
    else { return nil }
    self.base = base
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    base.craft(view, rng: &rng)
  }

  public var knowsDefense: Bool { base.knowsDefense }
  public var testsSelection: Bool { base.testsSelection }
}
