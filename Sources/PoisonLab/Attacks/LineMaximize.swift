/// Best-effort arg-max of a function of one non-negative factor.
///
/// By mere exploration: ByzFL's `LineMaximize` attack optimizer (the
/// optimal ALIE and IPM of its benchmarks), used by `optimize: true`.
///
/// Start at `start`, expand by `delta`, doubling it after each gain, until a
/// step loses; then contract by `ratio`, probing on the side of the last
/// proposal, for the remaining evaluations (at most `evals` in all).
enum LineMaximize {
  /// The factor with the largest value found.
  /// - Parameters:
  ///   - evals: evaluations allowed (ByzFL's default 16).
  ///   - start: the first factor (0).
  ///   - delta: the first step (1).
  ///   - ratio: the contraction (0.8).
  ///   - objective: the value of a factor (larger is better).
  /// - Returns: the best factor.
  static func search(
    evals: Int = 16, start: Double = 0, delta: Double = 1, ratio: Double = 0.8,
    objective: (Double) -> Double
  ) -> Double {
    var remaining = evals
    var step = delta
    var bestX = start
    var bestY = objective(bestX)
    remaining -= 1
    var proposal = bestX
    while remaining > 0 {
      proposal = bestX + step
      let y = objective(proposal)
      remaining -= 1
      if y > bestY {
        bestY = y
        bestX = proposal
        step *= 2
      } else {
        step *= ratio
        break
      }
    }
    while remaining > 0 {
      if proposal < bestX {
        proposal += step
      } else {
        var x = proposal - step
        while x < 0 { x = (x + proposal) / 2 }
        proposal = x
      }
      let y = objective(proposal)
      remaining -= 1
      if y > bestY {
        bestY = y
        bestX = proposal
      }
      step *= ratio
    }
    return bestX
  }
}
