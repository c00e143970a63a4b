/// Tampering in transit: an attacker on the network (not a client) rewrites
/// `messages` honest updates per round before they reach the server, keeping
/// every other field (the Dolev-Yao attacker, who reads, alters and injects
/// messages but cannot forge signatures).
///
/// Transforms: `sign-flip` (the update negated), `scale` (multiplied by
/// `factor`), `gaussian` (N(0, std^2) noise added to every coordinate).
/// Which messages: `messages` of the round's honest messages, or the share
/// `fraction` of them (the scenario contract's key: rounded, at least one),
/// uniformly (stream `("attack", group, round)`). With `reported_samples`
/// the rewritten messages also claim that sample count. With `ed25519` the signature no
/// longer verifies, so the server rejects every tampered message.
public struct Tamper: ChannelAttack {
  /// How the update is rewritten.
  public enum Transform: String, Sendable, CaseIterable {
    case signFlip = "sign-flip"
    case scale
    case gaussian
  }

  public static let descriptor = PluginDescriptor(
    name: "tamper", summary: "a network attacker rewrites honest updates in transit",
    reference:
      "Dolev & Yao 1983, On the Security of Public Key Protocols (IEEE Trans. Inf. Theory): the network attacker",
    parameters: [
      ParameterSpec(
        "messages", .integer(min: 1, max: 1_000_000),
        doc: "honest messages rewritten per round (default 1; not with fraction)"),
      ParameterSpec(
        "fraction", .number(min: 0, max: 1, minOpen: true, maxOpen: false),
        doc:
          "share of the round's honest messages rewritten, rounded, at least one (the contract's key; not with messages)"
      ),
      ParameterSpec(
        "transform", .choice(Transform.allCases.map(\.rawValue)), default: .string("sign-flip"),
        doc: "sign-flip: negate; scale: multiply by factor; gaussian: add N(0, std^2) noise"),
      ParameterSpec(
        "factor", .number(min: nil, max: nil, minOpen: false, maxOpen: false),
        doc: "transform scale: the multiplier (required)"),
      ParameterSpec(
        "std", .number(atLeast: 0, open: true), doc: "transform gaussian: the noise std (default 1)"
      ),
    ] + AttackGroup.scheduleKeys + [AttackGroup.networkReportedSamplesKey],
    notes: ["federated runs only", "no clients of its own: the attacker is on the network"])

  /// Messages rewritten per round (without `fraction`).
  public let messages: Int
  /// The share of the round's honest messages rewritten, when given.
  public let fraction: Double?
  /// The rewrite.
  public let transform: Transform
  /// The multiplier of `scale`.
  public let factor: Float
  /// The noise of `gaussian`.
  public let std: Double
  /// The sample count written into the rewritten messages (nil: left as it was).
  public let reportedSamples: Int?

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard requireFederatedChannel("tamper", parameters, context, &validator) else { return nil }
    messages = parameters.int("messages") ?? 1
    fraction = parameters.double("fraction")
    reportedSamples = parameters.int("reported_samples")
    transform = Transform(rawValue: parameters.string("transform") ?? "") ?? .signFlip
    factor = Float(parameters.double("factor") ?? 1)
    std = parameters.double("std") ?? 1
    var ok = true
    if parameters.given.contains("messages") && parameters.given.contains("fraction") {
      validator.fail(
        parameters.path("fraction"),
        "give either messages (a count) or fraction (a share), not both")
      ok = false
    }
    if parameters.given.contains("factor") && transform != .scale {
      validator.fail(parameters.path("factor"), "applies to transform \"scale\" only")
      ok = false
    }
    if parameters.given.contains("std") && transform != .gaussian {
      validator.fail(parameters.path("std"), "applies to transform \"gaussian\" only")
      ok = false
    }
    if transform == .scale && !parameters.given.contains("factor") {
      validator.fail(parameters.path("factor"), "missing: transform \"scale\" needs a factor")
      ok = false
    }
    if let perRound = context.clientsPerRound, fraction == nil, messages > perRound {
      validator.fail(
        parameters.path("messages"),
        "must be at most the \(perRound) clients per round, got \(messages)")
      ok = false
    }
    if !ok { return nil }
  }

  mutating func intercept(
    _ messages: inout [ChannelMessage], round: ChannelRound, rng: inout SplitMix64
  ) {
    guard round.active else { return }
    let honest = messages.indices.filter { messages[$0].origin == .honest }
    let count =
      fraction.map {
        max(1, Int(count: $0 * Double(honest.count), rounding: .toNearestOrAwayFromZero))
      } ?? self.messages
    for index in choose(count, from: honest, rng: &rng) {
      let original = messages[index].update
      switch transform {
      case .signFlip:
        for j in messages[index].update.indices { messages[index].update[j].negate() }
      case .scale:
        for j in messages[index].update.indices { messages[index].update[j] *= factor }
      case .gaussian:
        for j in messages[index].update.indices {
          messages[index].update[j] += Float(rng.nextGaussian() * std)
        }
      }
      // A rewrite that changed no bit (factor 1, noise below float32
      // resolution) leaves an honest message; one that changed only bits
      // (0 negated to -0) is a tampered message, which a signature catches.
      var changed = !messages[index].update.elementsEqual(original) {
        $0.bitPattern == $1.bitPattern
      }
      if let count = reportedSamples, count != messages[index].reportedSamples {
        messages[index].reportedSamples = count
        changed = true
      }
      if changed { messages[index].origin = .malicious }
    }
  }
}
