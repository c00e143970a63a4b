import Dispatch

/// Coordinate-wise order statistics of many updates, sixteen coordinates at a time.
///
/// Each group of 16 columns of the row-major `n x d` matrix is
/// loaded as `n` SIMD vectors (no transpose) and sorted by Batcher's
/// odd-even merge sorting network (Batcher 1968, "Sorting networks and
/// their applications"), whose compare-exchanges are branch-free lane-wise
/// minimum and maximum. The network sorts `N = 2^ceil(log2 n)` inputs; the
/// `N - n` missing ones are +infinity, which stay at the top, so every
/// compare-exchange that touches them is dropped. Used by `median` and
/// `trimmed-mean` for n up to ``maxRows`` (a network's size grows as
/// n log^2 n; larger n use quickselect per coordinate). Values are finite
/// (the chain rejects non-finite updates first).
enum ColumnSort {
  /// The coordinates sorted together: 16 floats, one cache line of a row.
  typealias Lanes = SIMD16<Float>

  /// The largest number of updates sorted by the network.
  static let maxRows = 256

  /// The compare-exchange pairs `(i, j)`, `i < j`, of Batcher's odd-even
  /// merge sort for `N = 2^ceil(log2 n)` inputs, without the pairs whose
  /// `j` is `n` or more.
  /// - Parameters:
  ///   - n: the number of inputs (>= 1).
  ///   - keep: the output positions read (nil: all, a full sort).
  /// - Returns: the pairs, in order.
  static func network(_ n: Int, keep: [Int]? = nil) -> [(Int32, Int32)] {
    var size = 1
    while size < n { size *= 2 }
    var pairs: [(Int32, Int32)] = []
    var p = 1
    while p < size {
      var k = p
      while k >= 1 {
        var j = k % p
        while j <= size - 1 - k {
          for i in 0..<min(k, size - j - k) where (i + j) / (2 * p) == (i + j + k) / (2 * p) {
            if i + j + k < n { pairs.append((Int32(i + j), Int32(i + j + k))) }
          }
          j += 2 * k
        }
        k /= 2
      }
      p *= 2
    }
    guard let keep else { return pairs }
    // Only the values that end at `keep` are read: walking back from the
    // end, a compare-exchange neither of whose outputs is needed is dropped
    // (its inputs are then not needed either).
    var needed = [Bool](repeating: false, count: n)
    for position in keep where position < n { needed[position] = true }
    var kept: [(Int32, Int32)] = []
    for pair in pairs.reversed() where needed[Int(pair.0)] || needed[Int(pair.1)] {
      kept.append(pair)
      needed[Int(pair.0)] = true
      needed[Int(pair.1)] = true
    }
    return kept.reversed()
  }

  /// `finish` applied to every group of 16 sorted columns of `set`.
  /// - Parameters:
  ///   - set: the updates (n <= maxRows).
  ///   - threads: worker threads.
  ///   - keep: the sorted positions `finish` reads (the network is pruned to them).
  ///   - finish: from the `n` sorted vectors of a group, its 16 results.
  /// - Returns: one value per coordinate.
  static func reduce(
    _ set: UpdateSet, threads: Int, keep: [Int],
    _ finish: @Sendable (UnsafePointer<Lanes>, Int) -> Lanes
  ) -> [Float] {
    let n = set.count
    let d = set.dimension
    var out = [Float](repeating: 0, count: d)
    guard n > 0, d > 0 else { return out }
    let pairs = network(n, keep: keep)
    let groups = (d + Lanes.scalarCount - 1) / Lanes.scalarCount
    // Whole groups are split into contiguous ranges, one per worker.
    let workers = max(1, min(threads, groups))
    set.values.withUnsafeBufferPointer { m in
      out.withUnsafeMutableBufferPointer { o in
        pairs.withUnsafeBufferPointer { p in
          guard let matrix = m.baseAddress, let result = o.baseAddress, let pair = p.baseAddress
          else { return }
          let shared = Unchecked((matrix, result, pair))
          let count = p.count
          DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let (matrix, result, pair) = shared.value
            let v = UnsafeMutablePointer<Lanes>.allocate(capacity: n)
            defer { v.deallocate() }
            let raw = UnsafeRawPointer(matrix)
            for g in (groups * worker / workers)..<(groups * (worker + 1) / workers) {
              let start = g * Lanes.scalarCount
              let width = min(Lanes.scalarCount, d - start)
              if width == Lanes.scalarCount {
                for i in 0..<n {
                  v[i] = raw.loadUnaligned(
                    fromByteOffset: (i * d + start) * MemoryLayout<Float>.stride,
                    as: Lanes.self)
                }
              } else {
                for i in 0..<n {
                  var lanes = Lanes(repeating: 0)
                  for lane in 0..<width { lanes[lane] = matrix[i * d + start + lane] }
                  v[i] = lanes
                }
              }
              for c in 0..<count {
                let (a, b) = (Int(pair[c].0), Int(pair[c].1))
                let (x, y) = (v[a], v[b])
                // Lane-wise select (branch-free; the values are finite).
                let swap = y .< x
                v[a] = x.replacing(with: y, where: swap)
                v[b] = y.replacing(with: x, where: swap)
              }
              let values = finish(UnsafePointer(v), n)
              for lane in 0..<width { result[start + lane] = values[lane] }
            }
          }
        }
      }
    }
    return out
  }

  /// Coordinate-wise medians (the mean of the two middle values for even n, as NumPy).
  static func median(_ set: UpdateSet, threads: Int) -> [Float] {
    let n = set.count
    return reduce(set, threads: threads, keep: n % 2 == 1 ? [n / 2] : [n / 2 - 1, n / 2]) { v, n in
      n % 2 == 1 ? v[n / 2] : midpoint(v[n / 2 - 1], v[n / 2])
    }
  }

  /// ``Selection/midpoint(_:_:)`` lane by lane: `(a + b) / 2`, finite for finite lanes.
  @inline(__always)
  static func midpoint(_ a: Lanes, _ b: Lanes) -> Lanes {
    let m = (a + b) / 2
    let top = Lanes(repeating: .greatestFiniteMagnitude)
    let overflowed = (m .> top) .| (m .< -top)
    guard any(overflowed) else { return m }
    let finite = (a .<= top) .& (a .>= -top) .& (b .<= top) .& (b .>= -top)
    return m.replacing(with: a / 2 + b / 2, where: overflowed .& finite)
  }

  /// Coordinate-wise means of the values left after dropping `trim` at each end.
  ///
  /// They are summed in double precision. Only the `trim` smallest and largest
  /// are placed exactly (the network is pruned to them); the middle
  /// values, the same multiset, are summed in the order the network leaves them.
  static func trimmedMean(_ set: UpdateSet, trim: Int, threads: Int) -> [Float] {
    let n = set.count
    let ends = Array(0..<trim) + Array((n - trim)..<n)
    return reduce(set, threads: threads, keep: ends) { v, n in
      var sum = SIMD16<Double>(repeating: 0)
      for i in trim..<(n - trim) { sum += SIMD16<Double>(v[i]) }
      return Lanes(sum / Double(n - 2 * trim))
    }
  }
}
