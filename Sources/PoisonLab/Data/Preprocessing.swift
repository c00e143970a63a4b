/// How features are scaled before training (statistics from the training set).
public enum Normalization: String, Sendable, CaseIterable {
  /// `(x - mean) / std`: one mean and std over all pixels for images, per column for tabular data.
  case standard
  /// `(x - min) / (max - min)`: global for images, per column for tabular data.
  case minmax
  /// Raw values.
  case none
}

/// An affine feature transform `x' = (x - offset) * factor`, per column or global.
public struct Normalizer: Sendable, Equatable {
  /// Subtracted (one value, or one per column).
  public var offset: [Float]
  /// Multiplied after subtracting (one value, or one per column).
  public var factor: [Float]

  /// The transform `(x - offset) * factor` as given (a saved model's).
  /// - Parameters:
  ///   - offset: one value, or one per column.
  ///   - factor: as many values as `offset`.
  public init(offset: [Float], factor: [Float]) {
    self.offset = offset
    self.factor = factor
  }

  /// Fits the transform to `data`; constant columns get factor 1.
  /// - Parameters:
  ///   - kind: the normalisation.
  ///   - data: the training set.
  public init(_ kind: Normalization, fittedTo data: Dataset) {
    let d = data.shape.count
    let n = data.count
    let columns = data.isImage ? 1 : d
    var offset = [Float](repeating: 0, count: columns)
    var factor = [Float](repeating: 1, count: columns)
    self.offset = offset
    self.factor = factor
    guard kind != .none, n > 0 else { return }
    data.features.withUnsafeBufferPointer { x in
      for column in 0..<columns {
        // Images: every value; tabular: the column's values.
        let stride = data.isImage ? 1 : d
        let count = data.isImage ? n * d : n
        let start = data.isImage ? 0 : column
        switch kind {
        case .standard:
          var sum = 0.0
          for i in 0..<count { sum += Double(x[start + i * stride]) }
          let mean = sum / Double(count)
          var squares = 0.0
          for i in 0..<count {
            let deviation = Double(x[start + i * stride]) - mean
            squares += deviation * deviation
          }
          let std = (squares / Double(count)).squareRoot()
          offset[column] = Float(mean)
          factor[column] = std > 1e-12 ? Float(1 / std) : 1
        case .minmax:
          var low = Float.infinity
          var high = -Float.infinity
          for i in 0..<count {
            low = min(low, x[start + i * stride])
            high = max(high, x[start + i * stride])
          }
          // The range in double: a column spanning -3e38 to 3e38 has a
          // range beyond float32 (its factor would be 0, its values NaN).
          let range = Double(high) - Double(low)
          offset[column] = low
          factor[column] = range > 0 ? Float(1 / range) : 1
        case .none:
          break
        }
      }
    }
    self.offset = offset
    self.factor = factor
  }

  /// Applies the transform in place.
  /// - Parameter data: the samples to scale.
  public func apply(to data: inout Dataset) {
    let d = data.shape.count
    let global = offset.count == 1
    data.features.withUnsafeMutableBufferPointer { x in
      for i in 0..<x.count {
        let column = global ? 0 : i % d
        let value = (x[i] - offset[column]) * factor[column]
        // x - offset can pass float32's range when the product does not.
        x[i] =
          value.isFinite || !x[i].isFinite
          ? value : Float((Double(x[i]) - Double(offset[column])) * Double(factor[column]))
      }
    }
  }
}

/// Seeded, stratified sampling of sample indices.
public enum Stratified {
  /// `size` indices of `labels`, each class represented in proportion to its
  /// share (largest-remainder rounding, ties to the lower class id), drawn
  /// uniformly within each class; returned in ascending order.
  /// - Parameters:
  ///   - labels: the class id of every sample.
  ///   - classes: number of classes.
  ///   - size: how many to keep (at most `labels.count`).
  ///   - rng: the generator.
  /// - Returns: the chosen indices, ascending.
  public static func sample(
    labels: [Int32], classes: Int, size: Int, rng: inout SplitMix64
  ) -> [Int] {
    let n = labels.count
    guard size < n else { return Array(0..<n) }
    var byClass = [[Int]](repeating: [], count: classes)
    for (i, label) in labels.enumerated() { byClass[Int(label)].append(i) }
    var quotas = byClass.map { $0.count * size / n }
    var remainders = byClass.enumerated().map { (c, members) in (c, members.count * size % n) }
    remainders.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    var missing = size - quotas.reduce(0, +)
    for (c, _) in remainders where missing > 0 && quotas[c] < byClass[c].count {
      quotas[c] += 1
      missing -= 1
    }
    var chosen: [Int] = []
    for c in 0..<classes {
      var members = byClass[c]
      rng.shuffle(&members)
      chosen += members.prefix(quotas[c])
    }
    return chosen.sorted()
  }
}
