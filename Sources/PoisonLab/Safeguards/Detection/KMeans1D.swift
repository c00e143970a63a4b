import Foundation

/// Optimal k-means of one-dimensional values.
///
/// By dynamic programming (Wang
/// & Song 2011, "Ckmeans.1d.dp: Optimal k-means Clustering in One Dimension
/// by Dynamic Programming", The R Journal 3(2)): exact and deterministic,
/// where Lloyd's algorithm depends on its start. O(k n^2).
enum KMeans1D {
  /// The optimal clustering of `values` into `k` groups (k clamped to n).
  /// - Returns: the within-cluster sum of squares, each value's cluster (0
  ///   = the lowest values) and the cluster means.
  static func fit(_ values: [Double], k requested: Int) -> (
    sse: Double, labels: [Int], centers: [Double]
  ) {
    let n = values.count
    guard n > 0 else { return (0, [], []) }
    let k = max(1, min(requested, n))
    let order = values.indices.sorted {
      values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1)
    }
    let x = order.map { values[$0] }
    var s1 = [Double](repeating: 0, count: n + 1)
    var s2 = [Double](repeating: 0, count: n + 1)
    for i in 0..<n {
      s1[i + 1] = s1[i] + x[i]
      s2[i + 1] = s2[i] + x[i] * x[i]
    }
    // Sum of squares of x[i...j] around its mean.
    func cost(_ i: Int, _ j: Int) -> Double {
      let m = Double(j - i + 1)
      let sum = s1[j + 1] - s1[i]
      return max(0, (s2[j + 1] - s2[i]) - sum * sum / m)
    }
    // best[c][j]: the cost of x[0...j] in c + 1 clusters; start[c][j]: where the last begins.
    var best = [[Double]](repeating: [Double](repeating: .infinity, count: n), count: k)
    var start = [[Int]](repeating: [Int](repeating: 0, count: n), count: k)
    for j in 0..<n { best[0][j] = cost(0, j) }
    if k > 1 {
      for c in 1..<k {
        for j in c..<n {
          for i in c...j {
            let candidate = best[c - 1][i - 1] + cost(i, j)
            if candidate < best[c][j] {
              best[c][j] = candidate
              start[c][j] = i
            }
          }
        }
      }
    }
    var labels = [Int](repeating: 0, count: n)
    var centers = [Double](repeating: 0, count: k)
    var end = n - 1
    for c in stride(from: k - 1, through: 0, by: -1) {
      let begin = c == 0 ? 0 : start[c][end]
      centers[c] = (s1[end + 1] - s1[begin]) / Double(end - begin + 1)
      for i in begin...end { labels[order[i]] = c }
      end = begin - 1
    }
    return (best[k - 1][n - 1], labels, centers)
  }

  /// The number of clusters the gap statistic (Tibshirani, Walther & Hastie
  /// 2001) picks among 1...`maxK`, as FLDetector computes it: values scaled
  /// to [0, 1]; `references` uniform samples of the same size; gap(k) =
  /// log(mean W_k^ref) - log W_k; the smallest k with gap(k) - gap(k + 1) +
  /// sd(k + 1) >= 0, sd(k) = sqrt(1 + 1/B) std(log W_k^ref).
  /// - Parameters:
  ///   - values: the scores.
  ///   - maxK: the largest k tried.
  ///   - references: B.
  ///   - rng: the reference samples' stream.
  /// - Returns: the chosen k (1 when the values are all equal).
  static func gapStatistic(
    _ values: [Double], maxK: Int = 7, references: Int = 10, rng: inout SplitMix64
  ) -> Int {
    guard let low = values.min(), let high = values.max(), high > low else { return 1 }
    let scaled = values.map { ($0 - low) / (high - low) }
    let ks = Array(1...max(1, min(maxK, values.count)))
    // A floor keeps log finite when k reaches the number of distinct values.
    func logW(_ x: [Double], _ k: Int) -> Double { log(max(fit(x, k: k).sse, 1e-300)) }
    var gaps: [Double] = []
    var sds: [Double] = []
    var samples: [[Double]] = []
    for _ in 0..<references {
      samples.append((0..<values.count).map { _ in rng.nextUnitDouble() })
    }
    for k in ks {
      let refs = samples.map { logW($0, k) }
      let meanW = refs.map { exp($0) }.reduce(0, +) / Double(references)
      gaps.append(log(meanW) - logW(scaled, k))
      let meanLog = refs.reduce(0, +) / Double(references)
      let std = (refs.reduce(0) { $0 + ($1 - meanLog) * ($1 - meanLog) } / Double(references))
        .squareRoot()
      sds.append((1 + 1 / Double(references)).squareRoot() * std)
    }
    for i in 0..<(ks.count - 1) where gaps[i] - gaps[i + 1] + sds[i + 1] >= 0 { return ks[i] }
    return ks.last ?? 1
  }
}
