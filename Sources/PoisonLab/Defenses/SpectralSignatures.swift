/// A defense for centralized runs that removes suspected poisoned training
/// samples before the final training.
public protocol DataSanitizer: Defense {
  /// The training samples to remove.
  /// - Parameters:
  ///   - representations: `labels.count x width` penultimate-layer activations
  ///     of a model trained on the (poisoned) data.
  ///   - width: floats per representation.
  ///   - labels: each sample's (possibly poisoned) label.
  ///   - classes: number of classes.
  /// - Returns: the indices removed, ascending.
  /// - Throws: `DefenseError` when the analysis fails.
  func suspects(representations: [Float], width: Int, labels: [Int32], classes: Int)
    throws(DefenseError) -> [Int]
}

extension DataSanitizer {
  /// The members of each class and their representations, centred by the class mean.
  /// - Parameters:
  ///   - representations: `labels.count x width` floats.
  ///   - width: floats per sample.
  ///   - labels: each sample's label.
  ///   - classes: number of classes.
  /// - Returns: per class with at least 2 members: the sample indices and their centred rows.
  static func centredClasses(
    _ representations: [Float], width: Int, labels: [Int32], classes: Int
  ) -> [(members: [Int], rows: [Float])] {
    (0..<classes).compactMap { c in
      let members = labels.indices.filter { labels[$0] == Int32(c) }
      guard members.count > 1 else { return nil }
      var rows = [Float](repeating: 0, count: members.count * width)
      for (k, i) in members.enumerated() {
        rows.replaceSubrange(
          (k * width)..<((k + 1) * width), with: representations[(i * width)..<((i + 1) * width)])
      }
      return (members, centred(rows, rows: members.count, width: width))
    }
  }

  /// Coordinates of each row along the top `k` right singular vectors of
  /// the (centred) matrix: `P = M V_k` (LAPACK `sgesdd`, then one `sgemm`).
  /// - Parameters:
  ///   - matrix: the centred `rows x width` matrix.
  ///   - rows: number of rows.
  ///   - width: floats per row.
  ///   - k: components kept (at most `min(rows, width)`).
  /// - Returns: `rows x k` projections, row-major.
  /// - Throws: `DefenseError` naming this sanitizer when LAPACK fails.
  static func principalProjections(
    _ matrix: [Float], rows: Int, width: Int, k: Int
  ) throws(DefenseError) -> [Float] {
    let vt: [Float]
    do {
      vt = try LAPACK.svd(matrix, rows: rows, cols: width).vt
    } catch {
      throw DefenseError(
        descriptor.name, "the singular value decomposition failed: \(error)")
    }
    var projections = [Float](repeating: 0, count: rows * k)
    matrix.withUnsafeBufferPointer { m in
      vt.withUnsafeBufferPointer { v in
        projections.withUnsafeMutableBufferPointer { p in
          guard let a = m.baseAddress, let b = v.baseAddress, let c = p.baseAddress else { return }
          BLAS.gemm(
            .none, .transposed, m: rows, n: k, k: width, a: a, lda: width, b: b, ldb: width, c: c,
            ldc: k)
        }
      }
    }
    return projections
  }

  /// Subtracts the column means.
  /// - Parameters:
  ///   - matrix: `rows x width` floats.
  ///   - rows: number of rows.
  ///   - width: floats per row.
  /// - Returns: the centred matrix.
  static func centred(_ matrix: [Float], rows: Int, width: Int) -> [Float] {
    var out = matrix
    for j in 0..<width {
      var mean = 0.0
      for i in 0..<rows { mean += Double(out[i * width + j]) }
      mean /= Double(max(1, rows))
      for i in 0..<rows { out[i * width + j] -= Float(mean) }
    }
    return out
  }
}

/// Spectral signatures (Tran, Li & Madry, NeurIPS 2018).
///
/// A model is first trained on the (poisoned) training set. For each class,
/// the penultimate-layer representations `R` of its samples are centred, the
/// top right singular vector `v` of the centred matrix is found (LAPACK
/// `sgesdd`), and each sample scores `((R_i - mean) . v)^2`. The
/// `ceil(multiplier x expected_fraction x n_c)` highest scores of each class
/// are removed and the model is trained again from scratch on the rest.
/// Defaults follow IBM ART's `SpectralSignatureDefense` (expected fraction
/// 0.33, multiplier 1.5). Round rows report the removed samples as `flagged`,
/// with precision and recall against the truly poisoned ones.
public struct SpectralSignatures: DataSanitizer {
  public static let descriptor = PluginDescriptor(
    name: "spectral-signatures",
    summary:
      "remove per-class outliers along the top singular vector of learned representations, then retrain",
    reference: "Tran, Li & Madry 2018, Spectral Signatures in Backdoor Attacks (NeurIPS)",
    parameters: [
      ParameterSpec(
        "expected_fraction", .number(min: 0, max: 1, minOpen: true, maxOpen: true),
        default: .number(0.33),
        doc: "expected share of poisoned samples in a poisoned class"),
      ParameterSpec(
        "multiplier", .number(atLeast: 0, open: true), default: .number(1.5),
        doc: "removes multiplier x expected_fraction of every class"),
    ], notes: ["centralized runs only"])

  /// Expected share of poison in a poisoned class.
  public let expectedFraction: Double
  /// The removal multiplier.
  public let multiplier: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    expectedFraction = parameters.double("expected_fraction") ?? 0.33
    multiplier = parameters.double("multiplier") ?? 1.5
  }

  /// Creates the defense.
  /// - Parameters:
  ///   - expectedFraction: expected share of poison in a poisoned class.
  ///   - multiplier: the removal multiplier.
  public init(expectedFraction: Double = 0.33, multiplier: Double = 1.5) {
    self.expectedFraction = expectedFraction
    self.multiplier = multiplier
  }

  /// The outlier score of each row of `representations`.
  /// - Parameters:
  ///   - representations: `rows x width` floats.
  ///   - rows: number of samples.
  ///   - width: floats per sample.
  /// - Returns: `((R_i - mean) . v)^2` per row.
  /// - Throws: `DefenseError` when LAPACK fails.
  public static func scores(_ representations: [Float], rows: Int, width: Int) throws(DefenseError)
    -> [Double]
  {
    guard rows > 1 else { return [Double](repeating: 0, count: rows) }
    let centred = Self.centred(representations, rows: rows, width: width)
    return try principalProjections(centred, rows: rows, width: width, k: 1).map {
      Double($0) * Double($0)
    }
  }

  public func suspects(
    representations: [Float], width: Int, labels: [Int32], classes: Int
  ) throws(DefenseError) -> [Int] {
    var removed: [Int] = []
    for (members, rows) in Self.centredClasses(
      representations, width: width, labels: labels, classes: classes)
    {
      let scores = try Self.scores(rows, rows: members.count, width: width)
      let count = min(
        members.count,
        Int(count: multiplier * expectedFraction * Double(members.count), rounding: .up))
      let ranked = members.indices.sorted {
        scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1)
      }
      removed += ranked.prefix(count).map { members[$0] }
    }
    return removed.sorted()
  }
}
