/// `sklearn-wine`: the UCI wine recognition table (178 x 13, 3 cultivars).
public struct SklearnWine: DatasetSource {
  public static let descriptor = PluginDescriptor(
    name: "sklearn-wine",
    summary: "wine recognition, 178 x 13, 3 classes (Debian's python3-sklearn)",
    reference: "Forina et al.; the UCI copy scikit-learn ships",
    parameters: SklearnTables.parameters, notes: SklearnTables.notes)
  let path: String?
  let testFraction: Double
  public var isImage: Bool { false }
  public var knownClasses: Int? { 3 }
  public var knownShape: Shape? { Shape(features: 13) }
  public func estimatedSize() -> DataSize? {
    SklearnTables.size(rows: 178, features: 13, classes: 3, testFraction: testFraction, path: path)
  }
  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    path = parameters.string("path").map(context.resolve)
    testFraction = parameters.double("test_fraction") ?? 0.2
  }
  public var inputFiles: [String] { [path ?? SklearnTables.folder + "/wine_data.csv"] }
  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    try SklearnTables.load("wine_data.csv", path: path, testFraction: testFraction, seeds: seeds)
  }
}
