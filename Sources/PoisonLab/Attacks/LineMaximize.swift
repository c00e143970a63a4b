/// Best-effort arg-max of a function of one non-negative factor, by mere
/// exploration: the search of ByzFL's `Optimal_ALittleIsEnough` and
/// `Optimal_InnerProductManipulation` (byzfl.attacks, with their defaults),
/// used by `optimize: true`.
///
/// Expansion: evaluate `start`, then `best + delta`, doubling `delta` after
/// each gain, until a step does not gain; `delta` is then multiplied by
/// `ratio`. Contraction: for the remaining evaluations (at most `evals` in
/// all) evaluate `best + delta`, keep it when it gains, and multiply `delta`
/// by `ratio` each time. Only factors above the best one are probed after
/// the expansion.
///
/// Variant: the line search of the EPFL research code ByzFL's optimal
/// attacks descend from (`line_maximize`, 16 evaluations, `delta` 1, probing
/// below the best factor too in the contraction) is a stronger optimiser;
/// ByzFL's library search is the one the issue and the benchmarks name.
enum LineMaximize {
  /// The factor with the largest value found.
  /// - Parameters:
  ///   - evals: evaluations allowed (ByzFL's default 20).
  ///   - start: the first factor (0).
  ///   - delta: the first step (10).
  ///   - ratio: the contraction (0.8).
  ///   - objective: the value of a factor (larger is better).
  /// - Returns: the best factor.
  static func search(
    evals: Int = 20, start: Double = 0, delta: Double = 10, ratio: Double = 0.8,
    objective: (Double) -> Double
  ) -> Double {
    var remaining = evals - 1
    var step = delta
    var bestX = start
    var bestY = objective(bestX)
    while remaining > 0 {
      let proposal = bestX + step
      let y = objective(proposal)
      remaining -= 1
      if y > bestY {
        (bestX, bestY) = (proposal, y)
        step *= 2
      } else {
        step *= ratio
        break
      }
    }
    while remaining > 0 {
      let proposal = bestX + step
      let y = objective(proposal)
      remaining -= 1
      if y > bestY { (bestX, bestY) = (proposal, y) }
      step *= ratio
    }
    return bestX
  }
}
