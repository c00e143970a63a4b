/// The federated simulation's side of the defense-aware attacks (`alie`
/// and `ipm` with `optimize`, `min-max` and `min-sum` with
/// `aggregator_aware`): the server's chain run on a candidate, as the
/// attacker runs it.
extension FederatedSimulation {
  /// The server's chain as a defense-aware attacker runs it.
  ///
  /// A copy in this round's state, on the round's updates in received order (client order)
  /// with the group's rows replaced by the candidate, with the clients'
  /// weights and ids, the server update and the quarantine count. An
  /// attacker that knows only its own updates runs it on them plus the
  /// candidates, every rule assuming `f = max(1, c^2 / n)` for `c`
  /// attackers of `n` updates (``ownProbeF(attackers:received:)``), as the
  /// official code of Shejwalkar & Houmansadr's unknown-benign experiments
  /// does. `log` counts the evaluations and the failures; with `selection`
  /// (a selection test against a selecting rule) a probe in which the rule
  /// kept every row tells nothing and counts as a failure.
  func defenseProbe(
    chain: DefenseChain, group g: Int, positions: [Int], received: [Float], selected: [Int],
    benign: UpdateSet, omniscient: Bool, setup: Setup, round: Int, previousAggregate: [Float]?,
    seeds: SeedTree, server: [Float]?, quarantined: Int, selection: Bool, log: ProbeLog
  ) -> @Sendable ([Float]) -> ProbeOutcome? {
    let d = benign.dimension
    let weight: (Int) -> Double = { position in
      let client = selected[position]
      if positions.contains(position), let lie = setup.groups[g].reportedSamples {
        return Double(lie)
      }
      return Double(setup.clean[client].count)
    }
    let order = omniscient ? Array(selected.indices) : []
    let weights = omniscient ? order.map(weight) : [Double](repeating: 1, count: benign.count)
    // Own knowledge: the candidates carry the attackers' ids, their own
    // benign rows ids no client has (a stateful rule reads no history).
    let ids =
      omniscient
      ? selected : (0..<benign.count).map { -1 - $0 } + positions.map { selected[$0] }
    let attackerWeights = positions.map(weight)
    let threads = experiment.threads
    let assumedF =
      omniscient ? nil : Self.ownProbeF(attackers: positions.count, received: selected.count)
    return { candidate in
      var trial = chain
      let set: UpdateSet
      if omniscient {
        // The round's rows in received order (`order` is every position),
        // the attackers' overwritten by the candidate: one copy, then
        // block copies.
        var values = received
        values.withUnsafeMutableBufferPointer { rows in
          candidate.withUnsafeBufferPointer { crafted in
            guard let out = rows.baseAddress, let from = crafted.baseAddress else { return }
            for (k, position) in positions.enumerated() {
              (out + position * d).update(from: from + k * d, count: d)
            }
          }
        }
        set = UpdateSet(values: values, count: order.count, dimension: d, weights: weights)
      } else {
        set = UpdateSet(
          values: benign.values + candidate, count: benign.count + positions.count, dimension: d,
          weights: weights + attackerWeights)
      }
      let result: DefenseChain.Result
      do {
        result = try trial.run(
          set, round: round, threads: threads, previousAggregate: previousAggregate,
          seeds: seeds, clients: ids, serverUpdate: server,
          quarantined: omniscient ? quarantined : 0, assumedF: assumedF)
      } catch {
        log.record(failure: "\(error)")
        return nil
      }
      // The attackers' rows: their positions, or the rows after the benign ones.
      let attackerRows = omniscient ? positions : Array(benign.count..<set.count)
      let kept = result.flagged.filter { !$0 }.count
      log.record(
        failure: selection && kept == set.count
          ? "\(chain.names.joined(separator: " → ")) kept all \(set.count) rows, so whether it selects the malicious update cannot be told"
          : nil)
      return ProbeOutcome(
        aggregate: result.aggregate,
        attackersKept: attackerRows.filter { !result.flagged[$0] }.count, kept: kept,
        rows: set.count)
    }
  }

  /// The `f` a defense-aware attacker with knowledge `own` assumes in its
  /// probe: `max(1, c^2 / n)` (integer division), the official code's
  /// `n_attacker_` (Shejwalkar & Houmansadr, unknown-benign experiments).
  /// - Parameters:
  ///   - attackers: `c`, the attackers of the round.
  ///   - received: `n`, the updates of the round.
  /// - Returns: the assumed `f`.
  static func ownProbeF(attackers: Int, received: Int) -> Int {
    max(1, attackers * attackers / max(1, received))
  }
}
