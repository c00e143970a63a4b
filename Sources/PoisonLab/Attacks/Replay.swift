/// Replay: an attacker on the network captures honest messages and, `lag`
/// rounds later, re-sends `messages` of them under their original ids in
/// place of those clients' current messages (which it suppresses).
///
/// The replayed message is byte for byte the captured one, signature
/// included, so it verifies; with `ed25519` the server rejects it because
/// its round and model digest are stale. Without authentication nothing
/// binds a message to a round and it is aggregated as if fresh. Replayed
/// clients are chosen uniformly among those of round `r - lag` that sent an
/// honest message again in round `r` (stream `("attack", group, round)`).
/// With `reported_samples` the replayed messages claim that sample count
/// instead (no longer byte for byte: the signature fails too).
public struct Replay: ChannelAttack {
  public static let descriptor = PluginDescriptor(
    name: "replay",
    summary: "re-send honest updates captured lag rounds earlier, in place of the current ones",
    reference:
      "Dolev & Yao 1983, On the Security of Public Key Protocols (IEEE Trans. Inf. Theory): the network attacker",
    parameters: [
      ParameterSpec(
        "messages", .integer(min: 1, max: 1_000_000), default: .number(1),
        doc: "messages replayed per round"),
      ParameterSpec(
        "lag", .integer(min: 1, max: 1_000), default: .number(1),
        doc: "rounds between capture and replay"),
    ] + AttackGroup.scheduleKeys + [AttackGroup.networkReportedSamplesKey],
    notes: [
      "federated runs only", "no clients of its own: the attacker is on the network",
      "keeps lag rounds of captured messages in memory",
    ])

  /// Messages replayed per round.
  public let messages: Int
  /// Rounds between capture and replay.
  public let lag: Int
  /// The sample count the replayed messages claim (nil: the captured one).
  public let reportedSamples: Int?
  /// Honest messages captured, by round.
  private var captured: [Int: [ChannelMessage]] = [:]
  public var stateAcrossRounds: String? { "replay's captured messages" }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard requireFederatedChannel("replay", parameters, context, &validator) else { return nil }
    messages = parameters.int("messages") ?? 1
    lag = parameters.int("lag") ?? 1
    reportedSamples = parameters.int("reported_samples")
    if let perRound = context.clientsPerRound, messages > perRound {
      validator.fail(
        parameters.path("messages"),
        "must be at most the \(perRound) clients per round, got \(messages)")
      return nil
    }
    let last = [context.rounds, parameters.int("end_round")].compactMap { $0 }.min()
    if let last, lag >= last {
      validator.fail(
        parameters.path("lag"),
        "must be less than the last attacking round (\(last)), got \(lag); nothing could ever be replayed"
      )
      return nil
    }
  }

  mutating func intercept(
    _ messages: inout [ChannelMessage], round: ChannelRound, rng: inout SplitMix64
  ) {
    let r = round.round
    // The attacker reads everything in transit: it captures this round's
    // honest messages before replacing any.
    let honestNow = messages.filter { $0.origin == .honest }
    if round.active, let old = captured[r - lag] {
      var current: [Int: Int] = [:]  // sender -> index of its honest message now
      for (i, m) in messages.enumerated() where m.origin == .honest { current[m.sender] = i }
      let candidates = old.indices.filter { current[old[$0].sender] != nil }
      for k in choose(self.messages, from: candidates, rng: &rng) {
        guard let index = current[old[k].sender] else { continue }
        var replayed = old[k]
        replayed.origin = .malicious
        replayed.slot = messages[index].slot
        if let count = reportedSamples { replayed.reportedSamples = count }
        messages[index] = replayed
      }
    }
    captured[r] = honestNow
    captured[r - lag] = nil
  }
}
