/// `sklearn-breast-cancer`: the Wisconsin diagnostic breast-cancer table (569 x 30, 2 classes).
public struct SklearnBreastCancer: DatasetSource {
  public static let descriptor = PluginDescriptor(
    name: "sklearn-breast-cancer",
    summary: "Wisconsin diagnostic breast cancer, 569 x 30, 2 classes (Debian's python3-sklearn)",
    reference: "Street, Wolberg & Mangasarian 1993; the UCI copy scikit-learn ships",
    parameters: SklearnTables.parameters, notes: SklearnTables.notes)
  let path: String?
  let testFraction: Double
  public var isImage: Bool { false }
  public var knownClasses: Int? { 2 }
  public var knownShape: Shape? { Shape(features: 30) }
  public func estimatedSize() -> DataSize? {
    SklearnTables.size(rows: 569, features: 30, classes: 2, testFraction: testFraction, path: path)
  }
  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    path = parameters.string("path").map(context.resolve)
    testFraction = parameters.double("test_fraction") ?? 0.2
  }
  public var inputFiles: [String] { [path ?? SklearnTables.folder + "/breast_cancer.csv"] }
  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    try SklearnTables.load(
      "breast_cancer.csv", path: path, testFraction: testFraction, seeds: seeds)
  }
}
