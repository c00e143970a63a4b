/// Bulyan (El Mhamdi, Guerraoui & Rouault, ICML 2018).
///
/// 1. Build a selection set S of `theta = n - 2f` updates by applying Krum
///    recursively (select the best-scored update, remove it, re-score the rest).
/// 2. Per coordinate, average the `beta = theta - 2f` values of S closest to
///    the coordinate-wise median of S.
/// Needs `n >= 4f + 3`. Updates outside S are flagged. (FLPoison uses
/// `beta = n - 2f`, which skips the trimming; this follows the paper and Flower.)
///
/// Each Krum score in step 1 sums the `max(1, k - f - 2)` nearest distances
/// among the `k` updates still in play, as Flower does. With the paper's
/// `k - f - 2` alone the last selections (k = f + 2) score every update 0,
/// the lowest-indexed one wins, and with f = 1 an outlier in row 0 enters S.
/// Equal scores still happen (at k = f + 2 the two mutually nearest updates
/// score the same distance); they go to the lexicographically smallest
/// update, not the lowest index as in Flower, so the aggregate does not
/// depend on the order the updates arrive in.
public struct Bulyan: Aggregator {
  /// Pairwise distances or cosines of the updates.
  public static var buildsPairwise: Bool { true }
  /// Selects rows (and flags the others).
  public static var selectsRows: Bool { true }

  public static let descriptor = PluginDescriptor(
    name: "bulyan", summary: "recursive Krum selection, then a median-centred coordinate-wise trim",
    reference:
      "El Mhamdi, Guerraoui & Rouault 2018, The Hidden Vulnerability of Distributed Learning in Byzantium (ICML)",
    parameters: [byzantineSpec], notes: ["needs n >= 4f + 3"])

  /// Byzantine updates assumed.
  public let f: Int

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard
      let f = declaredF(
        parameters, context: context, validator: &validator, name: "bulyan",
        requirement: "n >= 4f + 3",
        holds: { n, f in n >= 4 * f + 3 })
    else { return nil }
    self.f = f
  }

  /// Creates the rule.
  /// - Parameter f: Byzantine updates assumed.
  public init(f: Int) { self.f = f }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let n = updates.count
    let f = context.effectiveF(self.f)
    guard n >= 4 * f + 3 else {
      throw DefenseError("bulyan", "needs n >= 4f + 3, received n = \(n) updates with f = \(f)")
    }
    let distances = updates.squaredDistances(threads: context.threads)
    var remaining = Array(0..<n)
    var selected: [Int] = []
    while selected.count < n - 2 * f {
      let k = remaining.count
      let sub = remaining.flatMap { i in remaining.map { j in distances[i * n + j] } }
      let scores = Krum.scores(sub, n: k, neighbours: max(1, k - f - 2))
      let lowest = scores.min() ?? 0
      let tied = scores.indices.filter { scores[$0] == lowest }
      let best =
        tied.min { updates.precedes(remaining[$0], remaining[$1]) } ?? Krum.lowest(scores, 1)[0]
      selected.append(remaining.remove(at: best))
    }
    selected.sort()
    let beta = selected.count - 2 * f
    let chosen = updates.selecting(selected)
    let aggregate = chosen.coordinateWise(threads: context.threads) { column in
      Bulyan.closestToMedian(column, count: beta)
    }
    let kept = Set(selected)
    return (aggregate, DefenseOutcome(flagged: (0..<n).filter { !kept.contains($0) }))
  }

  /// The mean of the `count` values closest to the median (ties: lower values first).
  /// - Parameters:
  ///   - column: the values (reordered).
  ///   - count: how many to average.
  /// - Returns: their mean.
  static func closestToMedian(_ column: UnsafeMutableBufferPointer<Float>, count: Int) -> Float {
    let median = Selection.median(column)
    var sorted = column
    sorted.sort()
    // Grow a window around the median, taking the closer neighbour each time.
    var right = sorted.firstIndex { $0 >= median } ?? sorted.count
    var left = right - 1
    var sum: Double = 0
    for _ in 0..<count {
      let takeLeft: Bool
      if left < 0 {
        takeLeft = false
      } else if right >= sorted.count {
        takeLeft = true
      } else {
        takeLeft = median - sorted[left] <= sorted[right] - median
      }
      if takeLeft {
        sum += Double(sorted[left])
        left -= 1
      } else {
        sum += Double(sorted[right])
        right += 1
      }
    }
    return Float(sum / Double(count))
  }
}
