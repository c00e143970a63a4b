/// Sybils: the attacker creates `identities` (the scenario contract's `count`) new identities each
/// round, each with its own Ed25519 key, and sends `update` (a crafted-update attack, computed from
/// the honest updates it sees on the network) from each.
///
/// Identity ids follow the federation's and are never reused (every sybil group of every round
/// takes the next free ids). Under `open` enrolment the server enrols each on first contact with
/// the key it presents, so its signatures verify: authentication is not sybil resistance (Douceur
/// 2002). `closed` enrolment rejects them as unknown. Each reports `reported_samples` (default: the
/// mean local count of the federation's clients). When the attacks before it (in the attack list)
/// left no honest update in transit, the update is computed from every update in transit.
public struct Sybil: ChannelAttack {
  public static let descriptor = PluginDescriptor(
    name: "sybil", summary: "new identities each round, each sending a crafted update",
    reference: "Douceur 2002, The Sybil Attack (IPTPS); Fung et al. 2020, FoolsGold (RAID)",
    parameters: [
      ParameterSpec(
        "identities", .integer(min: 1, max: 10_000),
        doc: "new identities per round (default 10)"),
      ParameterSpec(
        "count", .integer(min: 1, max: 10_000),
        doc: "the scenario contract's name for identities (give one of the two)"),
      ParameterSpec(
        "update", .anyObject, required: true,
        doc:
          "the crafted update each sends, a crafted-update attack object, e.g. {\"name\": \"sign-flip\"}"
      ),
    ] + AttackGroup.scheduleKeys + [
      ParameterSpec(
        "reported_samples", .integer(min: 0, max: 1_000_000_000_000), mode: .federated,
        doc:
          "the sample count each identity reports (default: the mean local count of the federation's clients)"
      )
    ],
    notes: [
      "federated runs only", "no clients of its own; its update sees the honest updates in transit",
    ])

  /// Identities per round.
  public let identities: Int
  public var stateAcrossRounds: String? { "the sybils' next free identity and enrolled keys" }
  /// The crafted update.
  let update: any UpdateAttack
  /// The count each identity reports (nil: the mean client's).
  public let reportedSamples: Int?

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard requireFederatedChannel("sybil", parameters, context, &validator),
      let update = nestedUpdateAttack(
        parameters, owner: "sybil", context: context, validator: &validator)
    else { return nil }
    if update.knowsDefense {
      validator.fail(
        parameters.path("update"),
        "sybil identities craft in transit, without the defense chain in the loop; remove optimize or aggregator_aware"
      )
      return nil
    }
    if update.knowledge == .own || update.needsOwnUpdates {
      validator.fail(
        parameters.path("update"),
        "sybil identities hold no data, so their update cannot use its own benign updates "
          + "(knowledge own, or an attack like scaling); use an omniscient crafted update")
      return nil
    }
    self.update = update
    if parameters.given.contains("identities") && parameters.given.contains("count") {
      validator.fail(
        parameters.path("count"),
        "is the contract's name for identities; give one of the two, not both")
      return nil
    }
    identities = parameters.int("identities") ?? parameters.int("count") ?? 10
    reportedSamples = parameters.int("reported_samples")
  }

  mutating func intercept(
    _ messages: inout [ChannelMessage], round: ChannelRound, rng: inout SplitMix64
  ) {
    guard round.active else { return }
    // The honest updates in transit; when other attacks left none, every
    // update in transit (with none at all there is nothing to craft from).
    let honest = messages.filter { $0.origin == .honest }
    let seen = honest.isEmpty ? messages : honest
    guard let d = messages.first?.update.count else { return }
    let benign = UpdateSet(
      values: Array(seen.map(\.update).joined()), count: seen.count, dimension: d)
    let view = AttackView(
      benign: benign, attackers: identities, received: messages.count + identities)
    let crafted = update.craft(view, rng: &rng)
    for k in 0..<identities {
      let id = round.firstNewIdentity + k
      var message = ChannelMessage(
        sender: id, round: round.round, modelDigest: round.digest,
        reportedSamples: reportedSamples ?? round.meanSamples,
        update: Array(crafted[(k * d)..<((k + 1) * d)]), origin: .malicious, slot: nil)
      round.channel.sign(
        &message, with: UpdateChannel.identityKey(seed: round.seed, label: "sybil \(id)"))
      messages.append(message)
    }
  }
}

extension Sybil {
  /// The identities the scenario's sybil attacks enrol each round (under
  /// open enrolment they reach the defenses, which size n and f with them).
  /// - Parameter attacks: the scenario's attacks.
  /// - Returns: their identities in total.
  static func enrolledIdentities(_ attacks: [any Attack]) -> Int {
    attacks.compactMap { ($0 as? Sybil)?.identities }.reduce(0, +)
  }
}
