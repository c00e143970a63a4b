/// Order statistics by selection (Hoare's quickselect with a median-of-three
/// pivot): expected O(n), no full sort.
enum Selection {
  /// Reorders `a` so that `a[k]` is the k-th smallest, smaller-or-equal
  /// values before it and larger-or-equal after, and returns it.
  /// - Parameters:
  ///   - a: the values (finite).
  ///   - k: the rank, in `0..<a.count`.
  /// - Returns: the k-th smallest value.
  @discardableResult
  static func select(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
    var low = 0
    var high = a.count - 1
    while high > low {
      let mid = low + (high - low) / 2
      // Median of three as the pivot value.
      if a[mid] < a[low] { a.swapAt(mid, low) }
      if a[high] < a[low] { a.swapAt(high, low) }
      if a[high] < a[mid] { a.swapAt(high, mid) }
      let pivot = a[mid]
      var i = low
      var j = high
      while i <= j {
        while a[i] < pivot { i += 1 }
        while a[j] > pivot { j -= 1 }
        if i <= j {
          a.swapAt(i, j)
          i += 1
          j -= 1
        }
      }
      if k <= j {
        high = j
      } else if k >= i {
        low = i
      } else {
        return a[k]
      }
    }
    return a[k]
  }

  /// The median; for an even count the mean of the two middle values (as numpy).
  /// - Parameter a: the values (reordered).
  /// - Returns: the median.
  static func median(_ a: UnsafeMutableBufferPointer<Float>) -> Float {
    let n = a.count
    let upper = select(a, n / 2)
    guard n % 2 == 0 else { return upper }
    var lower = a[0]
    for i in 1..<(n / 2) where a[i] > lower { lower = a[i] }
    return midpoint(lower, upper)
  }

  /// `(a + b) / 2` as NumPy computes it, except that two finite values whose
  /// sum overflows (beyond 1.7e38) give their finite midpoint, not infinity.
  /// - Parameters:
  ///   - a: a value.
  ///   - b: another.
  /// - Returns: the mean of the two.
  @inline(__always)
  static func midpoint(_ a: Float, _ b: Float) -> Float {
    let m = (a + b) / 2
    return m.isFinite || !a.isFinite || !b.isFinite ? m : a / 2 + b / 2
  }

  /// The mean after dropping the `trim` smallest and `trim` largest values.
  /// - Parameters:
  ///   - a: the values (reordered).
  ///   - trim: values dropped at each end (`2 * trim < count`).
  /// - Returns: the trimmed mean.
  static func trimmedMean(_ a: UnsafeMutableBufferPointer<Float>, trim: Int) -> Float {
    let n = a.count
    if trim > 0 {
      select(a, trim)
      let rest = UnsafeMutableBufferPointer(rebasing: a[trim..<n])
      select(rest, n - 2 * trim - 1)
    }
    var sum: Double = 0
    for i in trim..<(n - trim) { sum += Double(a[i]) }
    return Float(sum / Double(n - 2 * trim))
  }
}
