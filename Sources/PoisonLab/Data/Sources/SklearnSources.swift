/// The tabular datasets scikit-learn ships as CSV files, read from Debian's
/// `python3-sklearn` package (`/usr/lib/python3/dist-packages/sklearn/datasets/data/`):
/// real small tables beside the image sets, for the credit- or
/// diagnosis-like cases of a retraining pipeline.
///
/// The files are read by the `csv` reader as they are (scikit-learn's
/// first line of counts and class names is recognised and checked;
/// `digits.csv.gz` is gzip-compressed and has no such line); a seeded,
/// stratified `test_fraction` is held out. Each table is its own name:
/// `sklearn-breast-cancer` (Wisconsin diagnostic, 569 x 30, 2 classes),
/// `sklearn-wine` (178 x 13, 3), `sklearn-iris` (150 x 4, 3),
/// `sklearn-digits` (1,797 x 64, 10; 8 x 8 images of 0-16 read as tabular).
enum SklearnTables {
  /// The sizes a table splits into (exact for Debian's copy; another `path`
  /// may hold other rows).
  static func size(rows: Int, features: Int, classes: Int, testFraction: Double, path: String?)
    -> DataSize
  {
    let test = max(1, Int((Double(rows) * testFraction).rounded()))
    return DataSize(
      train: rows - test, test: test, shape: Shape(features: features), classes: classes,
      exact: path == nil)
  }

  /// What every table's entry in `list` and the docs says.
  static let notes = [
    "read from Debian's python3-sklearn (/usr/lib/python3/dist-packages/sklearn/datasets/data/; make deps installs it, and a missing file names the package) by the csv reader, which checks scikit-learn's first line of counts and class names against the rows"
  ]

  /// Where Debian's `python3-sklearn` puts the files.
  static let folder = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

  /// The keys every table takes.
  static let parameters: [ParameterSpec] =
    [
      ParameterSpec(
        "test_fraction", .number(min: 0, max: 1, minOpen: true, maxOpen: true),
        default: .number(0.2), doc: "share held out as a seeded, stratified test set"),
      ParameterSpec(
        "path", .string,
        doc: "the CSV file (default: Debian's python3-sklearn copy)"),
    ] + DatasetCommon.parameters

  /// Loads `file` from the package (or `path`), holding out `testFraction`.
  static func load(_ file: String, path: String?, testFraction: Double, seeds: SeedTree)
    throws(DataError) -> (train: Dataset, test: Dataset)
  {
    let location = path ?? folder + "/" + file
    let full: Dataset
    do {
      full = try CSVData.load(trainPath: location, testPath: nil, labelColumn: nil, header: nil)
        .train
    } catch DataError.missing(let missing, _) where path == nil {
      throw .missing(
        file: missing,
        hint:
          "it comes with Debian's python3-sklearn package: run `make deps` or `sudo apt-get install python3-sklearn`"
      )
    }
    return try CSVSource.holdOut(full, fraction: testFraction, file: location, seeds: seeds)
  }
}

/// `sklearn-breast-cancer`: the Wisconsin diagnostic breast-cancer table (569 x 30, malignant/benign).
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
