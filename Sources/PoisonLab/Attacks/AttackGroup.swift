/// Who attacks and when, in a federated run: the `clients`/`client_ids`,
/// `start_round`/`end_round`/`every` and `participation` keys every attack
/// accepts when the scenario has a `federation` block.
public struct AttackGroup: Sendable, Equatable {
  /// How attacking clients are chosen for a round.
  public enum Participation: String, Sendable, CaseIterable {
    /// Attackers are sampled like every other client.
    case sampled
    /// Attackers are always selected in the rounds they attack; the rest of
    /// the round is sampled, so the round size does not change.
    case scheduled
  }

  /// The malicious clients, ascending.
  public var clients: [Int]
  /// First attacking round (from 1).
  public var startRound: Int
  /// Last attacking round (nil: the last round).
  public var endRound: Int?
  /// Attack every this many rounds from `startRound`.
  public var every: Int
  /// How attackers are selected.
  public var participation: Participation
  /// The sample count the attackers report (nil: their true local count).
  public var reportedSamples: Int? = nil

  /// Whether the group attacks in `round`.
  /// - Parameter round: the round, from 1.
  /// - Returns: true inside the schedule.
  public func isActive(_ round: Int) -> Bool {
    round >= startRound && round <= (endRound ?? .max) && (round - startRound) % every == 0
  }

  /// The keys of the schedule (federated runs only): who, when, and the
  /// sample count the attackers claim.
  public static let parameters: [ParameterSpec] =
    clientKeys + scheduleKeys + [participationKey, reportedSamplesKey]

  /// `clients` and `client_ids`.
  static let clientKeys: [ParameterSpec] = [
    ParameterSpec(
      "clients", .integer(min: 1, max: 1_000_000), mode: .federated,
      doc: "number k of malicious clients: clients 0..k-1"),
    ParameterSpec(
      "client_ids", .array(.integer(min: 0, max: nil), minCount: 1, maxCount: nil),
      mode: .federated,
      doc: "the malicious clients by id (instead of clients)"),
  ]

  /// `start_round`, `end_round` and `every`.
  static let scheduleKeys: [ParameterSpec] = [
    ParameterSpec(
      "start_round", .integer(min: 1, max: nil), default: .number(1), mode: .federated,
      doc: "first attacking round"),
    ParameterSpec(
      "end_round", .integer(min: 1, max: nil), mode: .federated,
      doc: "last attacking round (default: the last round)"),
    ParameterSpec(
      "every", .integer(min: 1, max: nil), default: .number(1), mode: .federated,
      doc: "attack every N rounds from start_round"),
  ]

  /// `participation`.
  static let participationKey =
    ParameterSpec(
      "participation", .choice(Participation.allCases.map(\.rawValue)), default: .string("sampled"),
      mode: .federated,
      doc: "sampled: attackers are sampled like everyone; scheduled: always selected when attacking"
    )

  /// `reported_samples` of the attackers on the network (`tamper`, `replay`).
  ///
  /// The count written into the messages they rewrite.
  static let networkReportedSamplesKey = ParameterSpec(
    "reported_samples", .integer(min: 0, max: 1_000_000_000_000), mode: .federated,
    doc:
      "the sample count written into the messages it rewrites (default: left as the message had it; a lie when larger)"
  )

  /// `reported_samples`: the count the attackers claim.
  static let reportedSamplesKey = ParameterSpec(
    "reported_samples", .integer(min: 0, max: 1_000_000_000_000), mode: .federated,
    doc:
      "the sample count the attackers report to the server (default: their true count; a lie when larger)"
  )

  /// Reads the schedule of an attack block, or records what is wrong.
  /// - Parameters:
  ///   - parameters: the validated attack block.
  ///   - clients: the federation's client count.
  ///   - rounds: the scenario's rounds, when known.
  ///   - needsClients: false for attacks without clients of their own (a
  ///     network attacker, sybil identities): only the schedule is read.
  ///   - validator: where problems are recorded.
  /// - Returns: the group, or nil.
  static func read(
    _ parameters: Parameters, clients: Int, rounds: Int?, needsClients: Bool = true,
    validator: inout SchemaValidator
  )
    -> AttackGroup?
  {
    var members: [Int] = []
    switch (parameters.int("clients"), parameters.ints("client_ids")) {
    case (nil, nil) where !needsClients:
      break
    case (let k?, nil):
      guard k <= clients else {
        validator.fail(
          parameters.path("clients"),
          "must be at most the federation's \(clients) clients, got \(k)")
        return nil
      }
      members = Array(0..<k)
    case (nil, let ids?):
      if let bad = ids.first(where: { $0 >= clients }) {
        validator.fail(
          parameters.path("client_ids"),
          "client id \(bad) does not exist (clients are 0...\(clients - 1))")
        return nil
      }
      guard Set(ids).count == ids.count else {
        validator.fail(parameters.path("client_ids"), "lists a client twice")
        return nil
      }
      members = ids.sorted()
    case (_?, _?):
      validator.fail(
        parameters.path("client_ids"), "give either clients (a count) or client_ids, not both")
      return nil
    case (nil, nil):
      validator.fail(
        parameters.path("clients"), "missing: say who attacks with clients (a count) or client_ids")
      return nil
    }
    let start = parameters.int("start_round") ?? 1
    let end = parameters.int("end_round")
    if let rounds, start > rounds {
      validator.fail(
        parameters.path("start_round"),
        "must be at most the last round \(rounds), got \(start); the attack would never run")
      return nil
    }
    if let end, end < start {
      validator.fail(
        parameters.path("end_round"), "must not be before start_round \(start), got \(end)")
      return nil
    }
    return AttackGroup(
      clients: members, startRound: start, endRound: end, every: parameters.int("every") ?? 1,
      participation: Participation(rawValue: parameters.string("participation") ?? "sampled")
        ?? .sampled, reportedSamples: parameters.int("reported_samples"))
  }
}
