/// Mimic: every attacker copies one honest update.
///
/// Mimic (Karimireddy, He & Jaggi, ICLR 2022): every attacker copies one
/// honest client's update, over-representing it. The copied client is the
/// first benign update the attackers know (the lowest client id among the
/// round's honest clients), so the choice is deterministic.
public struct Mimic: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "mimic", summary: "every attacker copies one honest client's update",
    reference:
      "Karimireddy, He & Jaggi 2022, Byzantine-Robust Learning on Heterogeneous Datasets via Bucketing (ICLR)",
    parameters: updateAttackSpecs, notes: ["federated runs only"])

  public let knowledge: Knowledge

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("mimic", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    view.repeated(
      view.benign.count > 0 ? view.benign.row(0) : [Float](repeating: 0, count: view.dimension))
  }
}
