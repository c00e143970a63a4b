/// Divide-and-Conquer (DnC; Shejwalkar & Houmansadr, NDSS 2021).
///
/// Repeated `iterations` times: draw `dimensions` coordinates at random
/// (all of them when the update is shorter), centre the updates restricted to
/// them by their mean, take the top right singular vector `v` of the
/// centred `n x b` matrix (LAPACK `sgesdd`), score each update by
/// `s_i = ((g_i - mu) . v)^2`, and keep the `n - c f` lowest scores. The
/// updates kept in every iteration are averaged; the others are flagged.
/// When no update is kept in every iteration (the subsets' kept sets need
/// not overlap: without outliers, 10 updates with `c f = 4` over 5
/// iterations often share none), the aggregate is the zero update, the
/// model stays as it was and every update is flagged, as FLTrust does
/// when it trusts none (the paper's code would average an empty set).
/// Defaults follow the paper: 5 iterations, 10,000 coordinates, `c = 1`.
public struct DivideAndConquer: Aggregator {
  public static let descriptor = PluginDescriptor(
    name: "dnc", summary: "spectral outlier removal on random coordinate subsets, then the mean",
    reference:
      "Shejwalkar & Houmansadr 2021, Manipulating the Byzantine: Optimizing Model Poisoning Attacks and Defenses for Federated Learning (NDSS)",
    parameters: [
      byzantineSpec,
      ParameterSpec(
        "iterations", .integer(min: 1, max: 1000), default: .number(5), doc: "random subsets tried"),
      ParameterSpec(
        "dimensions", .integer(min: 1, max: 100_000_000), default: .number(10_000),
        doc: "coordinates per subset"),
      ParameterSpec(
        "c", .number(atLeast: 0, open: true), default: .number(1),
        doc: "removes c x f updates per subset"),
    ], notes: ["needs n > c f"])

  /// Byzantine updates assumed.
  public let f: Int
  /// Subsets tried.
  public let iterations: Int
  /// Coordinates per subset.
  public let dimensions: Int
  /// The removal factor.
  public let c: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    let c = parameters.double("c") ?? 1
    guard
      let f = declaredF(
        parameters, context: context, validator: &validator, name: "dnc", requirement: "n > c f",
        holds: { n, f in Double(n) > c * Double(f) })
    else { return nil }
    self.init(
      f: f, iterations: parameters.int("iterations") ?? 5,
      dimensions: parameters.int("dimensions") ?? 10_000, c: c)
  }

  /// Creates the rule.
  /// - Parameters:
  ///   - f: Byzantine updates assumed.
  ///   - iterations: subsets tried.
  ///   - dimensions: coordinates per subset.
  ///   - c: the removal factor.
  public init(f: Int, iterations: Int = 5, dimensions: Int = 10_000, c: Double = 1) {
    self.f = f
    self.iterations = iterations
    self.dimensions = dimensions
    self.c = c
  }

  /// The outlier scores of `updates` on the coordinates `columns`.
  /// - Parameters:
  ///   - updates: the updates.
  ///   - columns: the coordinates used.
  /// - Returns: `((g_i - mu) . v)^2` per update.
  /// - Throws: `DefenseError` when LAPACK fails.
  public static func scores(_ updates: UpdateSet, columns: [Int]) throws(DefenseError) -> [Double] {
    let n = updates.count
    let b = columns.count
    var centred = [Float](repeating: 0, count: n * b)
    for (k, j) in columns.enumerated() {
      var mean = 0.0
      for i in 0..<n { mean += Double(updates.values[i * updates.dimension + j]) }
      mean /= Double(n)
      for i in 0..<n {
        centred[i * b + k] = Float(Double(updates.values[i * updates.dimension + j]) - mean)
      }
    }
    guard centred.allSatisfy({ $0.isFinite }) else {
      throw DefenseError(
        "dnc",
        "the centred updates overflow float32 (values near ±3.4e38); the SVD cannot run on them")
    }
    // The top right singular vector does not depend on the scale; huge
    // values are scaled down first so that LAPACK's sums of squares stay finite.
    let largest = centred.reduce(Float(0)) { max($0, abs($1)) }
    let input = largest > 1e18 ? centred.map { $0 / largest } : centred
    let vt: [Float]
    do {
      vt = try LAPACK.svd(input, rows: n, cols: b).vt
    } catch {
      throw DefenseError("dnc", "the singular value decomposition failed: \(error)")
    }
    return (0..<n).map { i in
      var dot = 0.0
      for k in 0..<b { dot += Double(centred[i * b + k]) * Double(vt[k]) }
      return dot * dot
    }
  }

  /// The column list, the sampled n x dims submatrix, its centred copy and
  /// the SVD's copy and work space.
  public func workspaceBytes(updates n: Int, dimension d: Int) -> Int {
    let columns = Swift.min(dimensions, d)
    return (8 * d).addingSaturating(n.multipliedSaturating(columns).multipliedSaturating(16))
  }

  public mutating func aggregate(
    _ updates: UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> (aggregate: [Float], outcome: DefenseOutcome) {
    let n = updates.count
    let f = context.effectiveF(self.f)
    let removed = Int(count: c * Double(f), rounding: .down)
    guard n > removed else {
      throw DefenseError("dnc", "needs n > c f, received n = \(n) updates with c f = \(removed)")
    }
    var rng = context.rng
    var kept = Set(0..<n)
    for _ in 0..<iterations {
      var columns = Array(0..<updates.dimension)
      if dimensions < updates.dimension {
        rng.shuffle(&columns)
        columns = Array(columns.prefix(dimensions)).sorted()
      }
      let scores = try Self.scores(updates, columns: columns)
      let good = (0..<n).sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        .prefix(n - removed)
      kept.formIntersection(good)
    }
    let weights = (0..<n).map { kept.contains($0) ? 1.0 : 0.0 }
    return (
      updates.weightedMean(using: weights),
      DefenseOutcome(flagged: (0..<n).filter { !kept.contains($0) })
    )
  }
}
