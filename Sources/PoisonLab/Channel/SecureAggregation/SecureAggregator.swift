/// Aggregation under secure aggregation: the server learns only the sum of
/// what the clients mask, so the weighting happens on the clients.
///
/// Each client k in the round's accepted set sends `u_k = (w_k / w̄) x_k`,
/// where `w_k` is its FedAvg weight by the channel's `reported_samples`
/// policy (1 for `mean`), `w̄` the mean weight over the set (announced by
/// the server, which knows the reported counts), and `x_k` its update, first
/// clipped to L2 norm `clip` by honest clients when the chain has `dp`
/// (DP-FedAvg's client-side clipping; attackers do not clip). The protocol
/// (``PairwiseMasking``) clips every coordinate of `u_k` to `[-C, C]` and
/// returns `sum_{k in U3} u_k`; the aggregate is that sum times
/// `w̄ / sum_{k in U3} w_k`, which is exactly FedAvg over the clients whose
/// input arrived when no coordinate is clipped (up to the fixed-point bound).
/// The chain's post-processing (dp noise) then runs on the aggregate. A
/// round whose surviving clients all weigh 0 fails like a threshold miss.
struct SecureAggregator {
  let settings: SecureAggregationSettings
  let seed: UInt64

  /// The round's aggregate, or nil when the protocol failed.
  /// - Parameters:
  ///   - arrival: what the channel accepted.
  ///   - chain: the defense chain (its aggregator is fedavg or mean).
  ///   - round: the round.
  ///   - seeds: the run's seed tree.
  ///   - threads: worker threads.
  /// - Returns: the aggregate (nil: the round failed) and the protocol's figures.
  /// - Throws: `DefenseError` when there is no update or the weights are not finite.
  func aggregate(
    _ arrival: ChannelStage.Arrival, chain: inout DefenseChain, round: Int, seeds: SeedTree,
    threads: Int
  ) throws(DefenseError) -> (aggregate: [Float]?, figures: MetricRecord.SecureAggregationFigures) {
    let set = arrival.updates
    let n = set.count
    let d = set.dimension
    let weighted = chain.stages.last is FedAvg
    let weights = weighted ? set.weights : [Double](repeating: 1, count: n)
    let total = weights.reduce(0, +)
    // Every client reports 0 samples: nothing to weigh, the round fails
    // (skipped, model unchanged), as when too few clients survive.
    if n > 0 && total == 0 {
      return (
        nil,
        MetricRecord.SecureAggregationFigures(
          failed: true, dropped: 0, clientSeconds: 0, serverSeconds: 0, bytesPerClient: 0)
      )
    }
    guard n > 0, total > 0, total.isFinite else {
      throw DefenseError(
        chain.names.last ?? "fedavg",
        "the \(n) updates' weights sum to \(total); secure aggregation needs a positive, finite total"
      )
    }
    let meanWeight = total / Double(n)
    var inputs = set.values
    for k in 0..<n {
      var factor = weights[k] / meanWeight
      if let clip = chain.clientClip, !arrival.malicious[k] {
        var squares = 0.0
        for j in 0..<d { squares += Double(inputs[k * d + j]) * Double(inputs[k * d + j]) }
        let norm = squares.squareRoot()
        if norm > clip { factor *= clip / norm }
      }
      if factor != 1 {
        for j in 0..<d { inputs[k * d + j] = Float(Double(inputs[k * d + j]) * factor) }
      }
    }
    let result = PairwiseMasking(settings: settings, seed: seed).run(
      round: round, ids: arrival.ids, inputs: inputs, dimension: d, threads: threads)
    var figures = MetricRecord.SecureAggregationFigures(
      failed: result.failed, dropped: result.droppedEarly + result.droppedLate,
      clientSeconds: result.clientSeconds, serverSeconds: result.serverSeconds,
      bytesPerClient: result.bytesPerClient)
    guard !result.failed else { return (nil, figures) }
    let included = (0..<n).filter { result.included[$0] }
    let includedWeight = included.reduce(0.0) { $0 + weights[$1] }
    // The clients whose input arrived may all weigh 0 (the others dropped):
    // like too few survivors, the round cannot be aggregated.
    guard includedWeight > 0 else {
      figures.failed = true
      return (nil, figures)
    }
    var aggregate = result.sum.map { Float($0 * meanWeight / includedWeight) }
    chain.postprocess(
      &aggregate, received: included.count, round: round, threads: threads, seeds: seeds)
    return (aggregate, figures)
  }
}
