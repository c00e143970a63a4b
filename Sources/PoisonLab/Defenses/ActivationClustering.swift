/// Activation clustering (Chen et al., "Detecting Backdoor Attacks on Deep
/// Neural Networks by Activation Clustering", SafeAI@AAAI 2019; arXiv 2018).
///
/// A model is first trained on the (poisoned) training set. For each class,
/// the penultimate-layer activations of its samples are centred and reduced
/// to their top `components` principal components (LAPACK `sgesdd`; the paper
/// uses ICA, the issue and IBM ART also offer PCA), then split by 2-means
/// (Lloyd's iterations from a deterministic farthest-point start: the point
/// farthest from the class mean, then the point farthest from it). The
/// smaller cluster is flagged as poisoned when its share of the class is
/// below `size_limit` (ART's "smaller" analysis, threshold 0.35). Flagged
/// samples are removed and the model is trained again from scratch.
public struct ActivationClustering: DataSanitizer {
  public static let descriptor = PluginDescriptor(
    name: "activation-clustering",
    summary:
      "per class, 2-means on PCA-reduced activations; remove the smaller cluster, then retrain",
    reference:
      "Chen et al. 2018, Detecting Backdoor Attacks on Deep Neural Networks by Activation Clustering (arXiv:1811.03728)",
    parameters: [
      ParameterSpec(
        "components", .integer(min: 1, max: 4096), default: .number(10),
        doc: "principal components kept before clustering"),
      ParameterSpec(
        "size_limit", .number(min: 0, max: 1, minOpen: true, maxOpen: true),
        default: .number(0.35),
        doc: "the smaller cluster is removed when its share of the class is below this"),
    ], notes: ["centralized runs only"])

  /// Principal components kept.
  public let components: Int
  /// The largest share of a class the smaller cluster may have to be removed.
  public let sizeLimit: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    components = parameters.int("components") ?? 10
    sizeLimit = parameters.double("size_limit") ?? 0.35
  }

  /// Creates the sanitizer.
  /// - Parameters:
  ///   - components: principal components kept.
  ///   - sizeLimit: the share below which the smaller cluster is removed.
  public init(components: Int = 10, sizeLimit: Double = 0.35) {
    self.components = components
    self.sizeLimit = sizeLimit
  }

  /// 2-means on `rows x width` points.
  /// - Parameters:
  ///   - points: row-major points.
  ///   - rows: number of points (at least 2).
  ///   - width: coordinates per point.
  /// - Returns: the cluster (0 or 1) of each point; cluster 0 holds the first starting point.
  public static func twoMeans(_ points: [Float], rows: Int, width: Int) -> [Int] {
    func distance(_ i: Int, _ centre: [Double]) -> Double {
      var sum = 0.0
      for j in 0..<width {
        let d = Double(points[i * width + j]) - centre[j]
        sum += d * d
      }
      return sum
    }
    func point(_ i: Int) -> [Double] { (0..<width).map { Double(points[i * width + $0]) } }
    var mean = [Double](repeating: 0, count: width)
    for i in 0..<rows {
      for j in 0..<width { mean[j] += Double(points[i * width + j]) / Double(rows) }
    }
    let first = (0..<rows).max { (distance($0, mean), $1) < (distance($1, mean), $0) } ?? 0
    let firstPoint = point(first)
    let second =
      (0..<rows).max { (distance($0, firstPoint), $1) < (distance($1, firstPoint), $0) } ?? 0
    var centres = [firstPoint, point(second)]
    var labels = [Int](repeating: -1, count: rows)
    for _ in 0..<300 {
      let next = (0..<rows).map { distance($0, centres[1]) < distance($0, centres[0]) ? 1 : 0 }
      if next == labels { break }
      labels = next
      for c in 0..<2 {
        let members = (0..<rows).filter { labels[$0] == c }
        guard !members.isEmpty else { continue }
        var centre = [Double](repeating: 0, count: width)
        for i in members {
          for j in 0..<width { centre[j] += Double(points[i * width + j]) }
        }
        centres[c] = centre.map { $0 / Double(members.count) }
      }
    }
    return labels
  }

  /// The samples of one class flagged as poisoned.
  /// - Parameters:
  ///   - centred: the class's centred activations, `rows x width`.
  ///   - rows: samples in the class.
  ///   - width: floats per activation.
  /// - Returns: the row indices of the smaller cluster when it is small enough, else none.
  /// - Throws: `DefenseError` when LAPACK fails.
  public func flagged(centred: [Float], rows: Int, width: Int) throws(DefenseError) -> [Int] {
    guard rows > 1 else { return [] }
    let k = min(components, rows, width)
    let reduced = try Self.principalProjections(centred, rows: rows, width: width, k: k)
    let labels = Self.twoMeans(reduced, rows: rows, width: k)
    let ones = labels.filter { $0 == 1 }.count
    let smaller = ones <= rows - ones ? 1 : 0
    let size = smaller == 1 ? ones : rows - ones
    guard Double(size) / Double(rows) < sizeLimit else { return [] }
    return (0..<rows).filter { labels[$0] == smaller }
  }

  public func suspects(
    representations: [Float], width: Int, labels: [Int32], classes: Int
  ) throws(DefenseError) -> [Int] {
    var removed: [Int] = []
    for (members, rows) in Self.centredClasses(
      representations, width: width, labels: labels, classes: classes)
    {
      removed += try flagged(centred: rows, rows: members.count, width: width).map { members[$0] }
    }
    return removed.sorted()
  }
}
