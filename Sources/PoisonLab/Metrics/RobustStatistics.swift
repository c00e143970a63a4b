/// The median and the median absolute deviation (MAD), shared by the
/// monitor's robust z-scores, quarantine's distance scale and Neural
/// Cleanse's anomaly index.
enum RobustStatistics {
  /// The normal-consistency constant of the MAD: 1 / Φ⁻¹(3/4).
  static let madScale = 1.4826

  /// The median: the mean of the two middle values for an even count, as
  /// `numpy.median`; 0 for no values.
  /// - Parameter values: the values.
  /// - Returns: their median.
  static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    guard n > 0 else { return 0 }
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
  }

  /// The MAD about `center`, scaled to a normal's standard deviation:
  /// `1.4826 · median(|x - center|)`.
  /// - Parameters:
  ///   - values: the values.
  ///   - center: their median.
  /// - Returns: the scaled MAD (0 when more than half the values equal `center`).
  static func scaledMAD(_ values: [Double], around center: Double) -> Double {
    madScale * median(values.map { abs($0 - center) })
  }
}
