/// Impersonation: the attacker clients send crafted updates (`update`, any
/// crafted-update attack) under honest clients' ids, signed with their own
/// keys since they do not hold the victims'.
///
/// Each active, selected attacker takes a distinct honest victim, uniformly
/// among the honest clients not selected this round (so its message adds a
/// voice); when there are fewer of those than attackers, among all honest
/// clients (stream `("attack", group, round, "victims")`). A federation
/// without honest clients cannot be impersonated (refused). The attacker's own id
/// sends nothing. Without authentication the server believes the claimed id;
/// with `ed25519` the signature does not verify under the victim's key.
public struct Impersonate: UpdateAttack, ChannelAttack {
  public static let descriptor = PluginDescriptor(
    name: "impersonate", summary: "attacker clients send crafted updates under honest clients' ids",
    reference:
      "Dolev & Yao 1983 (IEEE Trans. Inf. Theory), masquerading; Flower's SuperNode authentication guards against it",
    parameters: [
      ParameterSpec(
        "update", .anyObject, required: true,
        doc:
          "the crafted update sent, a crafted-update attack object, e.g. {\"name\": \"sign-flip\"}")
    ] + AttackGroup.parameters,
    notes: ["federated runs only"])

  static var hasClients: Bool { true }

  /// The crafted update.
  let update: any UpdateAttack
  public var knowledge: Knowledge { update.knowledge }
  public var needsOwnUpdates: Bool { update.needsOwnUpdates }
  public var knowsDefense: Bool { update.knowsDefense }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard requireFederated("impersonate", parameters, context, &validator) != nil,
      let update = nestedUpdateAttack(
        parameters, owner: "impersonate", context: context, validator: &validator)
    else { return nil }
    self.update = update
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    update.craft(view, rng: &rng)
  }

  /// The ids the attackers claim.
  /// - Parameters:
  ///   - count: active, selected attackers.
  ///   - absent: honest clients not selected this round.
  ///   - present: honest clients selected this round.
  ///   - rng: the attack's stream.
  /// - Returns: one victim per attacker (repeats only when there are fewer victims than attackers).
  func victims(count: Int, absent: [Int], present: [Int], rng: inout SplitMix64) -> [Int] {
    var pool = absent.count >= count ? absent : absent + present
    rng.shuffle(&pool)
    guard !pool.isEmpty else { return [] }
    return (0..<count).map { pool[$0 % pool.count] }
  }
}

extension Impersonate {
  /// An impersonator takes an honest client's id: at least one client must be honest.
  /// - Parameters:
  ///   - attackers: the clients taken by attacks.
  ///   - clients: the federation's clients (nil: centralized).
  ///   - path: the attack block.
  ///   - validator: collects the problem.
  static func checkVictims(
    attackers: Int, clients: Int?, at path: JSONPath, _ validator: inout SchemaValidator
  ) {
    guard let clients, attackers >= clients else { return }
    validator.fail(
      path.appending("name"),
      "every one of the \(clients) clients is an attacker: there is no honest client to impersonate"
    )
  }
}
