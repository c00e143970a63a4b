/// A validated defense chain (filters, then one aggregator) and how it runs
/// on a round's updates; shared by the simulator and `poisonlab aggregate`.
///
/// When any stage is robust (not `fedavg`/`mean`), updates holding NaN or
/// Inf are rejected and flagged before the first stage, and stages assume
/// `f` minus those rejected. Flags of every stage are mapped back to the
/// received updates through the rows' owners.
public struct DefenseChain: Sendable {
  /// The stages, in order.
  public private(set) var stages: [any Defense]
  /// The stages' names.
  public var names: [String] { stages.map { type(of: $0).descriptor.name } }

  /// Whether the aggregator selects rows (``Aggregator/selectsRows``).
  public var selectsRows: Bool {
    guard let last = stages.last else { return false }
    return (type(of: last) as? any Aggregator.Type)?.selectsRows ?? false
  }

  /// Memory for aggregating `rows` updates of `dimension` values: the
  /// trained rows (+1 for a server update), the received matrix and two
  /// copies inside the chain, plus n x n distances and the two n x n working
  /// copies distance-based rules (krum, bulyan, flame, foolsgold) make.
  /// - Parameters:
  ///   - rows: updates.
  ///   - dimension: values per update.
  ///   - pairwise: whether the n x n matrices count.
  /// - Returns: bytes (saturating).
  public static func matrixBytes(rows: Int, dimension: Int, pairwise: Bool = true) -> Int {
    (rows + 1).multipliedSaturating(dimension.multipliedSaturating(4)).multipliedSaturating(4)
      .addingSaturating(pairwise ? rows.multipliedSaturating(rows).multipliedSaturating(24) : 0)
  }

  /// The peak memory of running the chain on `rows` updates of `dimension`
  /// values: ``matrixBytes(rows:dimension:pairwise:)`` (n x n only for
  /// stages that build such matrices) and the largest stage workspace.
  /// - Parameters:
  ///   - rows: updates.
  ///   - dimension: values per update.
  /// - Returns: the estimate.
  public func memoryEstimate(rows: Int, dimension: Int) -> MemoryEstimate {
    let pairwise = stages.contains { type(of: $0).buildsPairwise }
    var parts = [
      ("update matrix", Self.matrixBytes(rows: rows, dimension: dimension, pairwise: pairwise))
    ]
    let workspace =
      stages.map { $0.workspaceBytes(updates: rows, dimension: dimension) }.max() ?? 0
    if workspace > 0 { parts.append(("defense workspace", workspace)) }
    return MemoryEstimate(parts: parts.sorted { $0.1 > $1.1 })
  }

  /// The root-data size the server needs, when a stage needs one.
  public var rootSize: Int? { stages.compactMap(\.rootSize).max() }

  /// What the chain would leave unused of what `aggregate` was given: per-row
  /// weights that no stage weights by, a server update that no stage reads.
  /// - Parameters:
  ///   - weights: whether weights were given (`--weights`).
  ///   - serverUpdate: whether a server update was given (`--server-update`).
  /// - Returns: one message per unused input, empty when all are used.
  public func unusedInputs(weights: Bool, serverUpdate: Bool) -> [String] {
    let chain = names.joined(separator: " → ")
    var problems: [String] = []
    if weights && !stages.contains(where: { type(of: $0).readsWeights }) {
      let readers = Registry.defenses.filter { $0.readsWeights }.map { $0.descriptor.name }
      problems.append(
        "--weights: \(chain) treats every update alike and would not use them (\(readers.joined(separator: " and ")) weight updates); remove --weights"
      )
    }
    if serverUpdate && rootSize == nil {
      problems.append(
        "--server-update: \(chain) does not read a server update (fltrust does); remove --server-update"
      )
    }
    return problems
  }

  /// The `dp` stage's accounting parameters, when the chain has one.
  public var privacy: (noiseMultiplier: Double, delta: Double)? {
    for stage in stages { if let dp = stage as? DPFedAvg { return (dp.noiseMultiplier, dp.delta) } }
    return nil
  }

  /// The L2 bound the clients apply to their own updates under secure
  /// aggregation (the `dp` stage's `clip`), when the chain has one.
  public var clientClip: Double? {
    for stage in stages { if let dp = stage as? DPFedAvg { return dp.clip } }
    return nil
  }

  /// Post-processing, in chain order (DP noise on the aggregate); stage `s`
  /// of round `r` draws from `("defense", r, s, "post")`.
  /// - Parameters:
  ///   - aggregate: the aggregate, changed in place.
  ///   - received: the number of updates aggregated.
  ///   - round: the round.
  ///   - threads: worker threads.
  ///   - seeds: the run's seed tree.
  public mutating func postprocess(
    _ aggregate: inout [Float], received: Int, round: Int, threads: Int, seeds: SeedTree
  ) {
    let contexts = stages.indices.map { _ in DefenseContext(round: round, threads: threads) }
    postprocess(&aggregate, received: received, contexts: contexts, round: round, seeds: seeds)
  }

  private mutating func postprocess(
    _ aggregate: inout [Float], received: Int, contexts: [DefenseContext], round: Int,
    seeds: SeedTree
  ) {
    for index in stages.indices.dropLast() {
      guard var filter = stages[index] as? any UpdateFilter else { continue }
      var context = contexts[index]
      context.rng = seeds.generator("defense", round, index, "post")
      filter.postprocess(&aggregate, received: received, context: context)
      stages[index] = filter
    }
  }

  /// Creates a chain; the last stage must be an ``Aggregator``, the others ``UpdateFilter``s.
  /// - Parameter stages: the validated stages.
  public init(_ stages: [any Defense]) { self.stages = stages }

  /// What the chain did to a round's updates.
  public struct Result: Sendable {
    /// The aggregate update.
    public var aggregate: [Float]
    /// Per received update: rejected or given zero weight.
    public var flagged: [Bool]
    /// Per received update: kept but scaled down or given less weight by a
    /// stage (``DefenseOutcome/downweighted``), and flagged by none.
    public var downweighted: [Bool]
    /// Updates rejected for non-finite values before the chain.
    public var rejectedNonFinite: Int
    /// Per stage that computes scores: one score per received update (nil for
    /// updates that did not reach the stage or were mixed with others).
    public var scores: [(stage: String, values: [Double?])]
  }

  /// Runs the chain on `updates`.
  /// - Parameters:
  ///   - updates: the received updates.
  ///   - round: the round (from 1).
  ///   - threads: worker threads for coordinate-wise rules.
  ///   - previousAggregate: last round's aggregate, for stateful rules.
  ///   - seeds: the run's seed tree (stage `s` of round `r` draws from `("defense", r, s)`).
  ///   - clients: the client id of each update (default: the row numbers).
  ///   - serverUpdate: the server's update on its root data, for rules that need one.
  ///   - quarantined: clients quarantined so far (rules assume `f` less them).
  ///   - rejectedByChannel: selected clients whose message the channel
  ///     rejected this round (rules assume `f` less them too).
  ///   - assumedF: the `f` every rule assumes instead of its own (a
  ///     defense-aware attacker's probe on its own rows), or nil.
  /// - Returns: the aggregate and the flags.
  /// - Throws: `DefenseError` when a stage cannot run on the updates it receives.
  public mutating func run(
    _ updates: UpdateSet, round: Int, threads: Int, previousAggregate: [Float]?, seeds: SeedTree,
    clients: [Int]? = nil, serverUpdate: [Float]? = nil, quarantined: Int = 0,
    rejectedByChannel: Int = 0, assumedF: Int? = nil
  ) throws(DefenseError) -> Result {
    let ids = clients ?? Array(0..<updates.count)
    var set = updates
    var flagged = [Bool](repeating: false, count: updates.count)
    var downweighted = flagged
    var rejected = 0
    if stages.contains(where: { !type(of: $0).propagatesNonFinite }) {
      var finite: [Int] = []
      for i in 0..<set.count {
        if set.isFinite(row: i) { finite.append(i) } else { flagged[i] = true }
      }
      rejected = set.count - finite.count
      if rejected > 0 { set = set.selecting(finite) }
    }
    var aggregate = [Float](repeating: 0, count: updates.dimension)
    var contexts: [DefenseContext] = []
    var scores: [(stage: String, values: [Double?])] = []
    for (index, stage) in stages.enumerated() {
      let name = type(of: stage).descriptor.name
      var context = DefenseContext(
        round: round, threads: threads, previousAggregate: previousAggregate,
        rejectedNonFinite: rejected,
        rng: seeds.generator("defense", round, index))
      context.serverUpdate = serverUpdate
      context.quarantined = quarantined
      context.rejectedByChannel = rejectedByChannel
      context.assumedF = assumedF
      // Rows still map one-to-one to clients unless a filter mixed them.
      context.clients = set.owners.map { $0.count == 1 ? ids[$0[0]] : -1 }
      contexts.append(context)
      let owners = set.owners
      let outcome: DefenseOutcome
      if index < stages.count - 1, var filter = stage as? any UpdateFilter {
        outcome = try filter.filter(&set, context: context)
        stages[index] = filter
      } else if var aggregator = stage as? any Aggregator {
        guard set.count > 0 else {
          throw DefenseError(name, "every update of the round was rejected")
        }
        let (result, stageOutcome) = try aggregator.aggregate(set, context: context)
        aggregate = result
        outcome = stageOutcome
        stages[index] = aggregator
      } else {
        throw DefenseError(name, "cannot run at position \(index + 1) of the chain")
      }
      for row in outcome.flagged { for owner in owners[row] { flagged[owner] = true } }
      for row in outcome.downweighted { for owner in owners[row] { downweighted[owner] = true } }
      if let values = outcome.scores {
        var perUpdate = [Double?](repeating: nil, count: updates.count)
        for (row, value) in values.enumerated() where row < owners.count && owners[row].count == 1 {
          perUpdate[owners[row][0]] = value
        }
        scores.append((name, perUpdate))
      }
    }
    // The updates the aggregator averaged: rows a stage rejected (a
    // non-finite one, an anomaly) add nothing to the sum the noise hides.
    postprocess(&aggregate, received: set.count, contexts: contexts, round: round, seeds: seeds)
    for i in flagged.indices where flagged[i] { downweighted[i] = false }
    return Result(
      aggregate: aggregate, flagged: flagged, downweighted: downweighted,
      rejectedNonFinite: rejected, scores: scores)
  }
}
