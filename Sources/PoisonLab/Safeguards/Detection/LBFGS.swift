/// The L-BFGS Hessian-vector product in compact form.
///
/// From Byrd, Nocedal &
/// Schnabel 1994, "Representations of quasi-Newton matrices and their use
/// in limited memory methods", Math. Programming 63), as FLDetector's
/// official code computes it.
///
/// With the last N model differences `S = [s_1 ... s_N]` and gradient
/// differences `Y = [y_1 ... y_N]` (columns), `A = S^T Y`, `L` its strictly
/// lower triangle, `D` its diagonal and `sigma = y_N^T s_N / s_N^T s_N`:
///
///     H v ≈ sigma v - [sigma S, Y] M^-1 [sigma S^T v; Y^T v],
///     M = [[sigma S^T S, L], [L^T, -D]].
enum LBFGS {
  /// `H v`, or nil when the pairs are degenerate (M singular, s_N zero).
  /// - Parameters:
  ///   - s: model differences, oldest first.
  ///   - y: gradient (aggregate) differences, same order.
  ///   - v: the vector.
  /// - Returns: the approximate Hessian-vector product.
  static func hessianProduct(s: [[Float]], y: [[Float]], v: [Float]) -> [Float]? {
    let n = s.count
    guard n > 0, n == y.count, let sLast = s.last, let yLast = y.last else { return nil }
    let ss = dot(sLast, sLast)
    guard ss > 0 else { return nil }
    let sigma = dot(yLast, sLast) / ss
    guard sigma.isFinite else { return nil }
    var m = [[Double]](repeating: [Double](repeating: 0, count: 2 * n), count: 2 * n)
    // S^T S is symmetric (s_i.s_j and s_j.s_i are the same products summed
    // in the same order), and only the lower triangle and diagonal of S^T Y
    // are read: j <= i only.
    for i in 0..<n {
      for j in 0...i {
        let ss = sigma * dot(s[i], s[j])
        m[i][j] = ss
        m[j][i] = ss
        let sy = dot(s[i], y[j])
        if i > j {
          m[i][n + j] = sy  // L: strictly lower triangle of S^T Y
          m[n + j][i] = sy  // L^T
        } else {
          m[n + i][n + i] = -sy  // -D
        }
      }
    }
    var rhs = [Double](repeating: 0, count: 2 * n)
    for i in 0..<n {
      rhs[i] = sigma * dot(s[i], v)
      rhs[n + i] = dot(y[i], v)
    }
    guard let p = solve(m, rhs) else { return nil }
    var out = v.map { Double($0) * sigma }
    for i in 0..<n {
      let a = sigma * p[i]
      let b = p[n + i]
      for j in out.indices { out[j] -= a * Double(s[i][j]) + b * Double(y[i][j]) }
    }
    return out.map { Float($0) }
  }

  static func dot(_ a: [Float], _ b: [Float]) -> Double {
    var total = 0.0
    for j in a.indices { total += Double(a[j]) * Double(b[j]) }
    return total
  }

  /// `x` with `a x = b` by Gaussian elimination with partial pivoting, or
  /// nil when a pivot is below 1e-12 of the largest entry.
  static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
    var m = a
    var x = b
    let n = b.count
    let scale = a.flatMap { $0 }.map(abs).max() ?? 0
    guard scale > 0 else { return nil }
    for col in 0..<n {
      var pivot = col
      for row in (col + 1)..<n where abs(m[row][col]) > abs(m[pivot][col]) { pivot = row }
      guard abs(m[pivot][col]) > 1e-12 * scale else { return nil }
      m.swapAt(col, pivot)
      x.swapAt(col, pivot)
      for row in (col + 1)..<n {
        let f = m[row][col] / m[col][col]
        if f == 0 { continue }
        for k in col..<n { m[row][k] -= f * m[col][k] }
        x[row] -= f * x[col]
      }
    }
    for row in stride(from: n - 1, through: 0, by: -1) {
      var total = x[row]
      for k in (row + 1)..<n { total -= m[row][k] * x[k] }
      x[row] = total / m[row][row]
    }
    return x.allSatisfy(\.isFinite) ? x : nil
  }
}
