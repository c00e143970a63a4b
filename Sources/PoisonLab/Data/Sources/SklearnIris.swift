/// `sklearn-iris`: Fisher's iris table (150 x 4, 3 species).
public struct SklearnIris: DatasetSource {
  public static let descriptor = PluginDescriptor(
    name: "sklearn-iris",
    summary: "Fisher's iris, 150 x 4, 3 classes (Debian's python3-sklearn)",
    reference: "Fisher 1936; the UCI copy scikit-learn ships",
    parameters: SklearnTables.parameters, notes: SklearnTables.notes)
  let path: String?
  let testFraction: Double
  public var isImage: Bool { false }
  public var knownClasses: Int? { 3 }
  public var knownShape: Shape? { Shape(features: 4) }
  public func estimatedSize() -> DataSize? {
    SklearnTables.size(rows: 150, features: 4, classes: 3, testFraction: testFraction, path: path)
  }
  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    path = parameters.string("path").map(context.resolve)
    testFraction = parameters.double("test_fraction") ?? 0.2
  }
  public var inputFiles: [String] { [path ?? SklearnTables.folder + "/iris.csv"] }
  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    try SklearnTables.load("iris.csv", path: path, testFraction: testFraction, seeds: seeds)
  }
}
