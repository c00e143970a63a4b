/// An attack on the update channel rather than on learning: a network
/// attacker that rewrites or re-sends messages in transit (`tamper`,
/// `replay`), identities that were never clients (`sybil`), or clients that
/// send under someone else's id (`impersonate`).
///
/// The simulation keeps one value per scenario entry and calls
/// ``intercept(_:round:rng:)`` once per round, in the order of the `attack`
/// array, after the clients sent their messages and before the server checks
/// them, so an attack may keep state (captured messages) across rounds.
protocol ChannelAttack: Attack {
  /// Whether the attack has clients of its own (`clients`/`client_ids`).
  static var hasClients: Bool { get }

  /// Rewrites, drops or adds messages in transit.
  /// - Parameters:
  ///   - messages: the round's messages in arrival order.
  ///   - round: the round and what an attacker on the network can use.
  ///   - rng: the attack's stream for this round.
  mutating func intercept(
    _ messages: inout [ChannelMessage], round: ChannelRound, rng: inout SplitMix64)
}

extension ChannelAttack {
  static var hasClients: Bool { false }
  mutating func intercept(
    _ messages: inout [ChannelMessage], round: ChannelRound, rng: inout SplitMix64
  ) {}
}

/// A round as an attacker on the channel sees it.
struct ChannelRound {
  /// The round, from 1.
  var round: Int
  /// SHA-256 of the current global model (public: every client receives it).
  var digest: [UInt8]
  /// The federation's client count (ids 0..<clients).
  var clients: Int
  /// The mean local sample count of the federation's clients.
  var meanSamples: Int
  /// Whether the attack's schedule includes this round.
  var active: Bool
  /// The channel, for signing messages with keys the attacker holds.
  var channel: UpdateChannel
  /// The scenario seed (the attacker's own keys derive from it).
  var seed: UInt64
  /// The first id no identity has used yet (attacks that create identities take ids from here).
  var firstNewIdentity: Int
}

/// Reads the `update` key of `impersonate` and `sybil`: a crafted-update
/// attack object without schedule keys (the outer attack has them).
func nestedUpdateAttack(
  _ parameters: Parameters, owner: String, context: ScenarioContext,
  validator: inout SchemaValidator
) -> (any UpdateAttack)? {
  let path = parameters.path("update")
  guard let value = parameters["update"] else { return nil }
  guard
    let (index, p) = ScenarioLoader.plugin(value, at: path, family: .attacks, validator: &validator)
  else { return nil }
  let type = Registry.attacks[index]
  let crafted = Registry.attacks.filter {
    $0 is any UpdateAttack.Type && !($0 is any ChannelAttack.Type)
  }
  .map { $0.descriptor.name }
  guard type is any UpdateAttack.Type, !(type is any ChannelAttack.Type) else {
    validator.fail(
      path.appending("name"),
      "\"\(type.descriptor.name)\" is not a crafted-update attack; \(owner) sends one of: \(crafted.joined(separator: ", "))"
    )
    return nil
  }
  let outer = Set(AttackGroup.parameters.map(\.key))
  let ownerKeys = Set(
    (Registry.attacks.first { $0.descriptor.name == owner }?.descriptor.parameters ?? []).map(\.key)
  )
  for key in p.given where outer.contains(key) {
    validator.fail(
      path.appending(key),
      ownerKeys.contains(key)
        ? "belongs to the \(owner) attack itself, not to its update; move it up one level"
        : "does not apply: \(owner) sets who sends and when, and takes no \(key)")
  }
  guard validator.errors.isEmpty,
    let attack = type.init(p, context: context, validator: &validator) as? any UpdateAttack
  else { return nil }
  return attack
}
