import Dispatch

/// The updates of a round as one contiguous row-major matrix (one row per
/// update, `dimension` floats each), with each row's sample weight and the
/// clients it came from.
///
/// An update is `local_weights - global_weights` over the model's flat
/// parameter vector. Rows mixed by a filter (bucketing) list every client
/// they came from.
public struct UpdateSet: Sendable, Equatable {
  /// Rows.
  public private(set) var count: Int
  /// Floats per row.
  public let dimension: Int
  /// `count x dimension` floats.
  public var values: [Float]
  /// Sample weight of each row (the client's training samples; summed for mixed rows).
  public var weights: [Double]
  /// For each row, the positions (in the round's received updates) it came from.
  public var owners: [[Int]]

  /// Creates a set from rows.
  /// - Parameters:
  ///   - rows: equal-length update vectors.
  ///   - weights: per-row weights (default 1 each).
  public init(rows: [[Float]], weights: [Double]? = nil) {
    let d = rows.first?.count ?? 0
    precondition(rows.allSatisfy { $0.count == d }, "rows of different lengths")
    self.init(values: rows.flatMap { $0 }, count: rows.count, dimension: d, weights: weights)
  }

  /// Creates a set from a row-major matrix.
  /// - Parameters:
  ///   - values: `count x dimension` floats.
  ///   - count: rows.
  ///   - dimension: floats per row.
  ///   - weights: per-row weights (default 1 each).
  ///   - owners: per-row origins (default: row i came from update i).
  public init(
    values: [Float], count: Int, dimension: Int, weights: [Double]? = nil, owners: [[Int]]? = nil
  ) {
    precondition(values.count == count * dimension, "matrix size mismatch")
    self.values = values
    self.count = count
    self.dimension = dimension
    self.weights = weights ?? [Double](repeating: 1, count: count)
    self.owners = owners ?? (0..<count).map { [$0] }
  }

  /// A copy of row `i`.
  /// - Parameter i: the row.
  /// - Returns: its floats.
  public func row(_ i: Int) -> [Float] { Array(values[(i * dimension)..<((i + 1) * dimension)]) }

  /// Whether row `i` comes before row `j` in lexicographic order of their
  /// values (an order that does not depend on the rows' positions).
  /// - Parameters:
  ///   - i: a row.
  ///   - j: another row.
  /// - Returns: true when the first differing value is smaller in row `i`.
  public func precedes(_ i: Int, _ j: Int) -> Bool {
    for c in 0..<dimension {
      let a = values[i * dimension + c]
      let b = values[j * dimension + c]
      if a != b { return a < b }
    }
    return false
  }

  /// Whether every value of row `i` is finite.
  /// - Parameter i: the row.
  /// - Returns: false when it holds NaN or an infinity.
  public func isFinite(row i: Int) -> Bool {
    values[(i * dimension)..<((i + 1) * dimension)].allSatisfy { $0.isFinite }
  }

  /// The rows `kept`, in that order.
  /// - Parameter kept: row indices.
  /// - Returns: the smaller set.
  public func selecting(_ kept: [Int]) -> UpdateSet {
    var out = [Float](repeating: 0, count: kept.count * dimension)
    for (r, i) in kept.enumerated() {
      out.replaceSubrange(
        (r * dimension)..<((r + 1) * dimension),
        with: values[(i * dimension)..<((i + 1) * dimension)])
    }
    return UpdateSet(
      values: out, count: kept.count, dimension: dimension, weights: kept.map { weights[$0] },
      owners: kept.map { owners[$0] })
  }

  /// Replaces every row (mixing filters), keeping weights and owners given.
  /// - Parameters:
  ///   - values: the new matrix.
  ///   - count: its rows.
  ///   - weights: per-row weights.
  ///   - owners: per-row origins.
  public mutating func replace(values: [Float], count: Int, weights: [Double], owners: [[Int]]) {
    precondition(
      values.count == count * dimension && weights.count == count && owners.count == count)
    self.values = values
    self.count = count
    self.weights = weights
    self.owners = owners
  }

  /// `sum_i w_i * row_i / sum_i w_i` (one `sgemv`); weights default to `weights`.
  /// - Parameter custom: per-row weights, or nil for the set's weights.
  /// - Returns: the weighted mean (zeros for an empty set).
  public func weightedMean(using custom: [Double]? = nil) -> [Float] {
    let w = custom ?? weights
    let total = w.reduce(0, +)
    guard count > 0, total > 0 else { return [Float](repeating: 0, count: dimension) }
    return weightedSum(w.map { $0 / total })
  }

  /// `sum_i w_i * row_i` (one `sgemv`, the weights rounded to float).
  /// - Parameter w: one weight per row.
  /// - Returns: the weighted sum (zeros for an empty set).
  public func weightedSum(_ w: [Double]) -> [Float] {
    var out = [Float](repeating: 0, count: dimension)
    guard count > 0, w.count == count else { return out }
    let scaled = w.map { Float($0) }
    values.withUnsafeBufferPointer { m in
      scaled.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { y in
          guard let a = m.baseAddress, let xv = x.baseAddress, let yv = y.baseAddress else {
            return
          }
          BLAS.gemv(.transposed, m: count, n: dimension, a: a, lda: dimension, x: xv, y: yv)
        }
      }
    }
    return out
  }

  /// Euclidean norm of every row (double accumulation).
  /// - Returns: one norm per row.
  public func norms() -> [Double] {
    (0..<count).map { i in
      var sum = 0.0
      for j in (i * dimension)..<((i + 1) * dimension) {
        sum += Double(values[j]) * Double(values[j])
      }
      return sum.squareRoot()
    }
  }

  /// Squared Euclidean distances between all rows, from a Gram matrix.
  ///
  /// `|a - b|^2 = |a'|^2 + |b'|^2 - 2 a'.b'` with `x' = x - c`, `c` the
  /// coordinate-wise median of the rows (distances do not move with the
  /// centre; a component the rows share would otherwise cancel the float32
  /// products' leading digits, and the median ignores an outlier that a
  /// mean would follow; small integers stay exact, so ties stay ties). Each
  /// centred row is scaled by its own power of two for the float32 `sgemm`
  /// (run over blocks of about a million floats) and the products are
  /// unscaled in double: one update of 1e22 neither overflows nor flushes
  /// the others' products to zero. A pair whose distance is below a tenth
  /// of their squared distances from the centre (close updates far from
  /// it, where the Gram form cancels) is summed exactly in double.
  /// Entries are clamped at 0.
  /// - Returns: the symmetric `count x count` matrix, row-major.
  public func squaredDistances(threads: Int = 1) -> [Double] {
    let n = count
    guard n > 0 else { return [] }
    let centre =
      n <= ColumnSort.maxRows
      ? ColumnSort.median(self, threads: threads)
      : coordinateWise(threads: threads) { Selection.median($0) }
    let gram = gramMatrix(.centred(centre), threads: threads)
    var out = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in (i + 1)..<max(i + 1, n) {
        var distance = max(0, gram[i * n + i] + gram[j * n + j] - 2 * gram[i * n + j])
        // Two updates close against their distance from the centre (two
        // clusters far from the median) lose their digits in the Gram
        // form: those pairs are summed exactly from the differences.
        if distance < 0.1 * (gram[i * n + i] + gram[j * n + j]) {
          distance = squaredDistance(i, j)
        }
        out[i * n + j] = distance
        out[j * n + i] = distance
      }
    }
    return out
  }

  /// `|row_i - row_j|^2`, summed in double from the differences.
  private func squaredDistance(_ i: Int, _ j: Int) -> Double {
    values.withUnsafeBufferPointer { m in
      guard let base = m.baseAddress else { return 0 }
      return Self.squaredDifference(base + i * dimension, base + j * dimension, count: dimension)
    }
  }

  /// `sum_k (a_k - b_k)^2` in double.
  private static func squaredDifference(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int
  ) -> Double {
    var sums = SIMD4<Double>()
    var k = 0
    while k + 4 <= count {
      let x = SIMD4<Double>(Double(a[k]), Double(a[k + 1]), Double(a[k + 2]), Double(a[k + 3]))
      let y = SIMD4<Double>(Double(b[k]), Double(b[k + 1]), Double(b[k + 2]), Double(b[k + 3]))
      let difference = x - y
      sums += difference * difference
      k += 4
    }
    var total = sums.sum()
    while k < count {
      let difference = Double(a[k]) - Double(b[k])
      total += difference * difference
      k += 1
    }
    return total
  }

  /// Cosine similarity between all rows, from a Gram matrix of the rows
  /// divided by their norms (double): `cos(a, b) = (a / |a|).(b / |b|)`,
  /// exact to float32 rounding for rows of any size; 0 when either row is
  /// zero.
  /// - Returns: the symmetric `count x count` matrix, row-major (diagonal 1 for nonzero rows).
  public func cosineSimilarities() -> [Double] {
    let n = count
    let norms = norms()
    let gram = gramMatrix(.divided(norms), threads: 1)
    var out = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n where norms[i] > 0 && norms[j] > 0 {
        out[i * n + j] = i == j ? 1 : min(1, max(-1, gram[i * n + j]))
      }
    }
    return out
  }

  /// What a Gram matrix is taken of: the rows less a centre, or the rows
  /// divided each by a number (0 for a row whose number is 0).
  private enum GramRows {
    case centred([Float])
    case divided([Double])
  }

  /// Row `i`'s entries `start ..< start + width` of `rows`, in double, into `out`.
  private func entries(
    _ rows: GramRows, row i: Int, start: Int, width: Int, into out: UnsafeMutablePointer<Double>
  ) {
    values.withUnsafeBufferPointer { m in
      guard let base = m.baseAddress else { return }
      let row = base + i * dimension + start
      switch rows {
      case .centred(let centre):
        centre.withUnsafeBufferPointer { c in
          guard let c = c.baseAddress else { return }
          for k in 0..<width { out[k] = Double(row[k]) - Double(c[start + k]) }
        }
      case .divided(let divisors):
        let divisor = divisors[i]
        for k in 0..<width { out[k] = divisor > 0 ? Double(row[k]) / divisor : 0 }
      }
    }
  }

  /// Runs `body(i, scratch)` for rows `0 ..< n` on `workers` threads
  /// (rows `w, w + workers, ...` on worker `w`), each worker with its own
  /// scratch of `capacity` doubles.
  private static func eachRow(
    _ n: Int, workers: Int, scratch capacity: Int,
    _ body: (Int, UnsafeMutablePointer<Double>) -> Void
  ) {
    withoutActuallyEscaping(body) { body in
      let work = Unchecked(body)
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: capacity)
        defer { scratch.deallocate() }
        for i in stride(from: worker, to: n, by: workers) { work.value(i, scratch) }
      }
    }
  }

  /// The Gram matrix `X X^T` of the rows `X[i][j]` (``GramRows``).
  ///
  /// Each row is scaled by the power of two `s_i` that brings its largest
  /// entry to [0.5, 1) and rounded to float32; the products accumulate in
  /// `sgemm` over column blocks of about a million floats, and entry
  /// `(i, j)` is divided by `s_i s_j` in double (exact: powers of two).
  /// Rows are prepared on `threads` threads (each row the same way
  /// whatever their number).
  /// - Parameters:
  ///   - rows: the rows' transformation.
  ///   - threads: worker threads.
  /// - Returns: the `count x count` matrix, row-major.
  private func gramMatrix(_ rows: GramRows, threads: Int) -> [Double] {
    let n = count
    guard n > 0 else { return [] }
    let chunk = 4096
    let workers = max(1, min(threads, n))
    var scales = [Double](repeating: 0, count: n)
    scales.withUnsafeMutableBufferPointer { out in
      let target = Unchecked(out)
      Self.eachRow(n, workers: workers, scratch: chunk) { i, scratch in
        var largest = 0.0
        var start = 0
        while start < dimension {
          let width = min(chunk, dimension - start)
          entries(rows, row: i, start: start, width: width, into: scratch)
          for k in 0..<width { largest = max(largest, abs(scratch[k])) }
          start += width
        }
        target.value[i] =
          largest > 0 && largest.isFinite
          ? Double(sign: .plus, exponent: -(largest.exponent + 1), significand: 1) : 0
      }
    }
    let rowScales = scales
    let width = max(1, min(dimension, (1 << 20) / n))
    var block = [Float](repeating: 0, count: n * width)
    var gram = [Float](repeating: 0, count: n * n)
    var offset = 0
    while offset < dimension {
      let start = offset
      let columns = min(width, dimension - start)
      block.withUnsafeMutableBufferPointer { b in
        let target = Unchecked(b)
        Self.eachRow(n, workers: workers, scratch: columns) { i, scratch in
          entries(rows, row: i, start: start, width: columns, into: scratch)
          let scale = rowScales[i]
          for k in 0..<columns { target.value[i * columns + k] = Float(scratch[k] * scale) }
        }
      }
      block.withUnsafeBufferPointer { b in
        gram.withUnsafeMutableBufferPointer { g in
          guard let a = b.baseAddress, let c = g.baseAddress else { return }
          BLAS.gemm(
            .none, .transposed, m: n, n: n, k: columns, a: a, lda: columns, b: a, ldb: columns,
            beta: start == 0 ? 0 : 1, c: c, ldc: n)
        }
      }
      offset += columns
    }
    var out = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n where scales[i] > 0 && scales[j] > 0 {
        out[i * n + j] = Double(gram[i * n + j]) / (scales[i] * scales[j])
      }
    }
    return out
  }

  /// Squared Euclidean distance from `vector` to every row.
  ///
  /// Summed in double from the differences: exact to double rounding for
  /// any finite float32 values (the Gram form `|v|^2 + |g|^2 - 2 v.g` in
  /// float32 overflows past 1e19 and cancels far from the origin).
  /// Rows are spread over `threads` workers; each row's sum is the same
  /// whatever the workers.
  /// - Parameters:
  ///   - vector: a vector of `dimension` floats.
  ///   - threads: worker threads.
  /// - Returns: one distance per row.
  public func squaredDistances(to vector: [Float], threads: Int = 1) -> [Double] {
    var out = [Double](repeating: 0, count: count)
    let (n, d) = (count, dimension)
    let workers = max(1, min(threads, n))
    values.withUnsafeBufferPointer { m in
      vector.withUnsafeBufferPointer { v in
        out.withUnsafeMutableBufferPointer { o in
          guard let rows = m.baseAddress, let point = v.baseAddress, let target = o.baseAddress
          else { return }
          let shared = Unchecked((rows, point, target))
          DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let (rows, point, target) = shared.value
            for i in stride(from: worker, to: n, by: workers) {
              target[i] = Self.squaredDifference(rows + i * d, point, count: d)
            }
          }
        }
      }
    }
    return out
  }

  /// The dot product of `vector` with every row, summed in double.
  /// - Parameter vector: a vector of `dimension` floats.
  /// - Returns: one product per row.
  public func dots(with vector: [Float]) -> [Double] {
    (0..<count).map { i in
      var total = 0.0
      for j in 0..<dimension { total += Double(values[i * dimension + j]) * Double(vector[j]) }
      return total
    }
  }

  /// Applies `reduce` to every coordinate's column of values, in parallel over
  /// blocks of coordinates (each coordinate is computed the same way whatever
  /// the thread count, so results are deterministic).
  /// - Parameters:
  ///   - threads: worker threads.
  ///   - reduce: receives a scratch buffer holding the column (it may reorder it) and returns
  ///     the value.
  /// - Returns: one value per coordinate.
  public func coordinateWise(
    threads: Int, _ reduce: @Sendable (UnsafeMutableBufferPointer<Float>) -> Float
  ) -> [Float] {
    let n = count
    let d = dimension
    var out = [Float](repeating: 0, count: d)
    guard n > 0, d > 0 else { return out }
    let block = 512
    let blocks = (d + block - 1) / block
    let workers = max(1, min(threads, blocks))
    values.withUnsafeBufferPointer { m in
      out.withUnsafeMutableBufferPointer { o in
        guard let matrix = m.baseAddress, let result = o.baseAddress else { return }
        let shared = Unchecked((matrix, result))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
          let (matrix, result) = shared.value
          let tile = UnsafeMutablePointer<Float>.allocate(capacity: block * n)
          defer { tile.deallocate() }
          for b in stride(from: worker, to: blocks, by: workers) {
            let start = b * block
            let width = min(block, d - start)
            // Transpose the block: tile[j * n + i] = matrix[i, start + j].
            for i in 0..<n {
              let source = matrix + i * d + start
              for j in 0..<width { tile[j * n + i] = source[j] }
            }
            for j in 0..<width {
              result[start + j] = reduce(UnsafeMutableBufferPointer(start: tile + j * n, count: n))
            }
          }
        }
      }
    }
    return out
  }
}
