/// An attack that crafts the updates its clients send (model poisoning).
///
/// Each round, the active malicious clients that were selected send crafted
/// updates instead of trained ones. What they know is `knowledge`:
/// `omniscient` (every honest update of the round, the literature's default)
/// or `own` (only the benign updates their own clients would have sent: each
/// trains honestly first).
public protocol UpdateAttack: Attack {
  /// What the attackers see.
  var knowledge: Knowledge { get }
  /// Whether the attack needs each attacker's own benign update whatever its
  /// knowledge (e.g. `scaling`).
  var needsOwnUpdates: Bool { get }
  /// Whether the attack runs the scenario's defense chain while crafting
  /// (`optimize`, `aggregator_aware`): it knows the defense.
  var knowsDefense: Bool { get }
  /// Whether its search asks a selecting rule to select the malicious
  /// update (``UpdateAttack/selected(_:view:)``; `aggregator_aware`).
  var testsSelection: Bool { get }
  /// Crafts one update per attacking client.
  /// - Parameters:
  ///   - view: what the attackers know this round.
  ///   - rng: the attack's random stream for this round.
  /// - Returns: `view.attackers x view.dimension` floats, row-major.
  func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float]
}

extension UpdateAttack {
  /// Most attacks only need what their knowledge gives.
  public var needsOwnUpdates: Bool { false }
  /// Most attacks do not know the defense.
  public var knowsDefense: Bool { false }
  /// Most defense-aware searches measure the aggregate's deviation.
  public var testsSelection: Bool { false }

  /// The distance of the defense's output from the benign mean when every
  /// attacker sends `vector` (0 when the chain cannot run).
  /// - Parameters:
  ///   - vector: the malicious update.
  ///   - view: the round.
  ///   - mean: the benign mean.
  /// - Returns: `||defense(benign + attackers x vector) - mean||`.
  public func deviation(of vector: [Float], view: AttackView, mean: [Float]) -> Double {
    guard let aggregate = view.defense?(view.repeated(vector))?.aggregate else { return 0 }
    var total = 0.0
    for j in mean.indices {
      let e = Double(aggregate[j]) - Double(mean[j])
      total += e * e
    }
    return total.isFinite ? total.squareRoot() : 0
  }

  /// Whether a selecting rule (krum, multi-krum, bulyan) keeps the
  /// malicious update when every attacker sends `vector`: as many
  /// attackers' rows kept as the rule keeps rows, up to the attackers
  /// (krum keeps one; false when the chain cannot run).
  /// - Parameters:
  ///   - vector: the malicious update.
  ///   - view: the round.
  /// - Returns: whether the attackers are selected.
  public func selected(_ vector: [Float], view: AttackView) -> Bool {
    guard let outcome = view.defense?(view.repeated(vector)) else { return false }
    // A rule that kept every row selected nothing: no success to tell.
    return outcome.kept < outcome.rows && outcome.attackersKept > 0
      && outcome.attackersKept == min(view.attackers, outcome.kept)
  }
}

/// What the defense chain did with a defense-aware attacker's candidate.
public struct ProbeOutcome: Sendable {
  /// The chain's aggregate.
  public var aggregate: [Float]
  /// The attackers' rows the chain kept (not flagged).
  public var attackersKept: Int
  /// The rows the chain kept in all.
  public var kept: Int
  /// The rows the chain received.
  public var rows: Int

  /// Creates an outcome.
  public init(aggregate: [Float], attackersKept: Int, kept: Int, rows: Int) {
    self.aggregate = aggregate
    self.attackersKept = attackersKept
    self.kept = kept
    self.rows = rows
  }
}

/// What the attackers know.
public enum Knowledge: String, Sendable, CaseIterable {
  /// Every honest update of the round.
  case omniscient
  /// Only their own clients' benign updates.
  case own
}

/// The round as the attackers see it.
public struct AttackView: Sendable {
  /// The benign updates the attackers know (honest updates, or their own).
  public var benign: UpdateSet
  /// The attackers' own benign updates, one row per attacker, when trained.
  public var own: UpdateSet?
  /// Malicious updates to craft.
  public var attackers: Int
  /// Updates the server receives this round (n).
  public var received: Int
  /// The defense chain an attacker who knows the defense runs.
  ///
  /// The scenario's actual defense chain run on the benign updates plus
  /// the given malicious rows (`attackers x dimension`), or nil when it
  /// cannot run: what a defense-aware attacker optimises against. Set only
  /// for attacks that declare ``UpdateAttack/knowsDefense``.
  public var defense: (@Sendable ([Float]) -> ProbeOutcome?)? = nil
  /// Whether the chain's aggregator selects rows (krum, multi-krum,
  /// bulyan): an AGR-tailored search then asks that the malicious update
  /// be selected.
  public var defenseSelects = false

  /// Creates a view.
  /// - Parameters:
  ///   - benign: known benign updates.
  ///   - own: the attackers' own benign updates.
  ///   - attackers: how many to craft.
  ///   - received: the round's n.
  public init(benign: UpdateSet, own: UpdateSet? = nil, attackers: Int, received: Int) {
    self.benign = benign
    self.own = own
    self.attackers = attackers
    self.received = received
  }

  /// Floats per update.
  public var dimension: Int { benign.dimension }

  /// The same vector for every attacker.
  /// - Parameter vector: one update.
  /// - Returns: `attackers` copies, row-major.
  public func repeated(_ vector: [Float]) -> [Float] {
    var rows: [Float] = []
    rows.reserveCapacity(attackers * vector.count)
    for _ in 0..<attackers { rows.append(contentsOf: vector) }
    return rows
  }

  /// The coordinate-wise mean and population standard deviation of the benign updates.
  /// - Returns: `(mean, std)`.
  public func benignMoments() -> (mean: [Float], std: [Float]) {
    let mean = benign.weightedMean(using: [Double](repeating: 1, count: benign.count))
    let d = dimension
    var variance = [Double](repeating: 0, count: d)
    for i in 0..<benign.count {
      for j in 0..<d {
        let diff = Double(benign.values[i * d + j] - mean[j])
        variance[j] += diff * diff
      }
    }
    let n = Double(max(benign.count, 1))
    return (mean, variance.map { Float(($0 / n).squareRoot()) })
  }
}

/// The `knowledge` key of crafted-update attacks.
let knowledgeSpec = ParameterSpec(
  "knowledge", .choice(Knowledge.allCases.map(\.rawValue)), default: .string("omniscient"),
  mode: .federated,
  doc: "omniscient: sees every honest update of the round; own: only its clients' benign updates")

/// Every crafted-update attack's keys: the schedule and `knowledge`.
let updateAttackSpecs = AttackGroup.parameters + [knowledgeSpec]

/// Channel attacks exist only in federated runs.
func requireFederatedChannel(
  _ name: String, _ parameters: Parameters, _ context: ScenarioContext,
  _ validator: inout SchemaValidator
) -> Bool {
  guard context.federated else {
    validator.fail(
      parameters.path.appending("name"),
      "\"\(name)\" attacks the update channel between clients and server and needs a federation block"
    )
    return false
  }
  return true
}

/// Crafted-update attacks exist only in federated runs.
func requireFederated(
  _ name: String, _ parameters: Parameters, _ context: ScenarioContext,
  _ validator: inout SchemaValidator
) -> Knowledge? {
  guard context.federated else {
    validator.fail(
      parameters.path.appending("name"),
      "\"\(name)\" crafts client updates and needs a federation block (centralized runs take label-flip or backdoor)"
    )
    return nil
  }
  return Knowledge(rawValue: parameters.string("knowledge") ?? "omniscient") ?? .omniscient
}
