/// `sklearn-digits`: the UCI optical handwritten digits (1,797 x 64, 10 classes).
public struct SklearnDigits: DatasetSource {
  public static let descriptor = PluginDescriptor(
    name: "sklearn-digits",
    summary:
      "8x8 handwritten digits as 64 features, 1,797 samples, 10 classes (Debian's python3-sklearn)",
    reference: "Alpaydin & Kaynak 1998; the UCI copy scikit-learn ships",
    parameters: SklearnTables.parameters, notes: SklearnTables.notes)
  let path: String?
  let testFraction: Double
  public var isImage: Bool { false }
  public var knownClasses: Int? { 10 }
  public var knownShape: Shape? { Shape(features: 64) }
  public func estimatedSize() -> DataSize? {
    SklearnTables.size(
      rows: 1797, features: 64, classes: 10, testFraction: testFraction, path: path)
  }
  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    path = parameters.string("path").map(context.resolve)
    testFraction = parameters.double("test_fraction") ?? 0.2
  }
  public var inputFiles: [String] { [path ?? SklearnTables.folder + "/digits.csv.gz"] }
  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    try SklearnTables.load("digits.csv.gz", path: path, testFraction: testFraction, seeds: seeds)
  }
}
