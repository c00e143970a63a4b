/// A defense plug-in (`defense.name`).
///
/// In a federated run the `defense` array is a chain: every element but the
/// last is an ``UpdateFilter`` (clipping, filtering, mixing) and the last is
/// an ``Aggregator``. Defenses are values; the simulation keeps one per
/// scenario entry and calls its mutating methods round after round, so a
/// defense may carry state across rounds.
public protocol Defense: Plugin {
  /// Whether NaN/Inf updates pass through it unchanged (`fedavg`, `mean`).
  /// When any defense of a chain does not, updates holding a non-finite value
  /// are rejected (and flagged) before the chain runs.
  static var propagatesNonFinite: Bool { get }

  /// Clean training samples the server keeps for itself (removed from the
  /// clients' data) and trains on each round, or nil.
  var rootSize: Int? { get }

  /// What the rule needs of the updates, which decides whether it can run
  /// under secure aggregation.
  static var secureAggregation: SecureAggregationUse { get }

  /// Bytes the rule allocates beyond the round's n x d update matrix and
  /// its two copies (which the memory estimate already counts), for n
  /// updates of d values.
  func workspaceBytes(updates n: Int, dimension d: Int) -> Int

  /// Whether the rule builds n x n matrices (pairwise distances or cosines).
  static var buildsPairwise: Bool { get }

  /// Whether the rule weights updates by their reported sample counts
  /// (filters pass the weights on to the rules after them).
  static var readsWeights: Bool { get }

  /// What the rule carries from round to round that a model file does not hold (a run resumed
  /// from a checkpoint starts without it; `aggregate` cannot replay it from one round's file), or
  /// nil when nothing.
  var stateAcrossRounds: String? { get }
}

extension Defense {
  /// Robust defenses reject non-finite updates.
  public static var propagatesNonFinite: Bool { false }
  /// Most rules look at each update.
  public static var secureAggregation: SecureAggregationUse { .needsEachUpdate }
  /// Most defenses need no server data.
  public var rootSize: Int? { nil }
  /// Most rules work within the matrix copies already counted.
  public func workspaceBytes(updates n: Int, dimension d: Int) -> Int { 0 }
  /// Most rules work coordinate by coordinate or row by row.
  public static var buildsPairwise: Bool { false }
  /// Most robust rules treat every update alike.
  public static var readsWeights: Bool { false }
  /// Most rules see one round at a time.
  public var stateAcrossRounds: String? { nil }
}

/// What a defense needs of the updates (see `channel.secure_aggregation`).
public enum SecureAggregationUse: Sendable, Equatable {
  /// Each update on its own: impossible when the server sees only their sum.
  case needsEachUpdate
  /// Only the (weighted) sum: runs on the securely aggregated sum.
  case sum
  /// Clips each update (done by the clients before masking) and changes the
  /// aggregate (done by the server).
  case clientClipThenAggregate
}

/// A stage before the aggregator: may change, drop or mix updates.
public protocol UpdateFilter: Defense {
  /// Transforms `updates` in place.
  /// - Parameters:
  ///   - updates: the updates of the round (rows may be removed or mixed).
  ///   - context: the round's facts.
  /// - Returns: the rows (of `updates` as given) rejected or down-weighted, with scores if any.
  /// - Throws: `DefenseError` when the rule cannot run on these updates.
  mutating func filter(
    _ updates: inout UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> DefenseOutcome

  /// Changes the aggregate after the aggregator ran (e.g. adds DP noise).
  /// - Parameters:
  ///   - aggregate: the aggregate update.
  ///   - received: the number of updates the aggregator averaged (after every rejection).
  ///   - context: the round's facts.
  mutating func postprocess(_ aggregate: inout [Float], received: Int, context: DefenseContext)
}

extension UpdateFilter {
  /// Most filters do nothing after aggregation.
  public mutating func postprocess(
    _ aggregate: inout [Float], received: Int, context: DefenseContext
  ) {}
}

/// The last stage: turns the updates into one aggregate update.
public protocol Aggregator: Defense {
  /// Aggregates the updates.
  /// - Parameters:
  ///   - updates: the updates that reached the aggregator.
  ///   - context: the round's facts.
  /// - Returns: the aggregate (length `updates.dimension`) and the rows given zero weight.
  /// - Throws: `DefenseError` when the rule's precondition fails for these updates.
  mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome)

  /// Whether the rule selects some rows and averages them, flagging the
  /// others (krum, multi-krum, bulyan): what AGR-tailored attacks aim at.
  static var selectsRows: Bool { get }
}

extension Aggregator {
  /// Most rules weigh or trim coordinates rather than select rows.
  public static var selectsRows: Bool { false }
}

/// What a defense may know about the round.
public struct DefenseContext: Sendable {
  /// The round, from 1.
  public var round: Int
  /// Worker threads for coordinate-wise work.
  public var threads: Int
  /// The previous round's aggregate (nil in round 1).
  public var previousAggregate: [Float]?
  /// Updates already rejected for non-finite values this round (assumed Byzantine).
  public var rejectedNonFinite: Int
  /// The defense's random stream for this round.
  public var rng: SplitMix64
  /// The client id of each received update (row order of the chain's input).
  public var clients: [Int] = []
  /// The server's own update on its clean root data (rules that declare `rootSize`).
  public var serverUpdate: [Float]?
  /// Clients the safeguards quarantined so far (presumed Byzantine, never selected).
  public var quarantined: Int = 0
  /// Selected clients left without an accepted update because the update
  /// channel rejected a message this round (a forged, tampered or replayed
  /// message in their place, stopped by authentication: presumed
  /// Byzantine, as a non-finite update is).
  public var rejectedByChannel: Int = 0
  /// The Byzantine count every rule assumes instead of its declared `f`
  /// (an attacker's probe of the chain on its own few rows), or nil.
  public var assumedF: Int? = nil

  /// Creates a context.
  /// - Parameters:
  ///   - round: the round.
  ///   - threads: worker threads.
  ///   - previousAggregate: last round's aggregate.
  ///   - rejectedNonFinite: non-finite updates rejected before the chain.
  ///   - rng: the random stream.
  ///   - clients: the client id of each update.
  ///   - serverUpdate: the server's update on its root data.
  public init(
    round: Int, threads: Int = 1, previousAggregate: [Float]? = nil, rejectedNonFinite: Int = 0,
    rng: SplitMix64 = SplitMix64(seed: 0), clients: [Int] = [], serverUpdate: [Float]? = nil
  ) {
    self.round = round
    self.threads = threads
    self.previousAggregate = previousAggregate
    self.rejectedNonFinite = rejectedNonFinite
    self.rng = rng
    self.clients = clients
    self.serverUpdate = serverUpdate
  }

  /// The Byzantine count a rule should assume: the declared `f` (or
  /// `assumedF`) less the updates already rejected as non-finite, the
  /// selected clients whose message the channel rejected, and the clients
  /// quarantined.
  /// - Parameter declared: the rule's `f`.
  /// - Returns: `max(0, declared - rejectedNonFinite - rejectedByChannel - quarantined)`.
  public func effectiveF(_ declared: Int) -> Int {
    // Saturating: counts read from a round file may be anything.
    var f = max(0, assumedF ?? declared)
    for excluded in [rejectedNonFinite, rejectedByChannel, quarantined] {
      f -= min(f, max(0, excluded))
    }
    return f
  }
}

/// Which updates a defense rejected or gave zero weight, and its per-row scores.
public struct DefenseOutcome: Sendable, Equatable {
  /// Row indices (into the stage's input) rejected or given zero weight, ascending.
  public var flagged: [Int]
  /// Row indices kept but scaled down or given less than full weight, ascending:
  /// clipped to a bound (norm-clip, dp, flame, centered-clipping), a trust
  /// score below 1 or a rescaling to a smaller norm (fltrust), a weight
  /// between 0 and 1 (foolsgold).
  public var downweighted: [Int]
  /// One score per input row where the rule computes one (Krum scores, z-scores).
  public var scores: [Double]?

  /// Creates an outcome.
  /// - Parameters:
  ///   - flagged: the rejected rows.
  ///   - downweighted: the rows kept with less weight or a smaller norm.
  ///   - scores: per-row scores.
  public init(flagged: [Int] = [], downweighted: [Int] = [], scores: [Double]? = nil) {
    self.flagged = flagged
    self.downweighted = downweighted
    self.scores = scores
  }
}

/// A defense that cannot run on the updates it received.
public struct DefenseError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The defense's name.
  public var defense: String
  /// What is wrong (counts included).
  public var message: String

  /// Creates an error.
  /// - Parameters:
  ///   - defense: the defense name.
  ///   - message: the explanation.
  public init(_ defense: String, _ message: String) {
    self.defense = defense
    self.message = message
  }

  public var description: String { "\(defense): \(message)" }
}

/// The largest `f` a rule may assume.
let maxByzantine = 100_000

/// The `f` key: Byzantine updates a rule assumes.
let byzantineSpec = ParameterSpec(
  "f", .integer(min: 0, max: maxByzantine),
  doc: "Byzantine updates assumed (default: the scenario's malicious clients)")

/// Reads `f`, checking a precondition `n > bound(f)` against the clients per round when known.
func declaredF(
  _ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator,
  name: String, requirement: String, holds: (Int, Int) -> Bool
) -> Int? {
  let f = parameters.int("f") ?? context.maliciousClients
  if let n = context.clientsPerRound, !holds(n, f) {
    validator.fail(
      parameters.path("f"),
      "\(name) needs \(requirement), but n = \(n) \(context.updatesNoun) and f = \(f); lower f"
        + (context.updatesAreRows ? "" : " or raise clients_per_round"))
    return nil
  }
  return f
}
