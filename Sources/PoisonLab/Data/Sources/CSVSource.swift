/// Tabular data from CSV files: numeric feature columns and one label
/// column (numbers or strings, mapped to class ids in sorted order:
/// numerically when every label is a number, else by bytes).
public struct CSVSource: DatasetSource {
  public static let descriptor = PluginDescriptor(
    name: "csv",
    summary: "numeric CSV features with a label column (tabular; no cnn, no image triggers)",
    parameters: [
      ParameterSpec("train", .string, required: true, doc: "the training CSV file"),
      ParameterSpec(
        "test", .string, doc: "the test CSV file (else test_fraction of train is held out)"),
      ParameterSpec(
        "test_fraction", .number(min: 0, max: 1, minOpen: true, maxOpen: true),
        doc:
          "share of the training file held out as a seeded, stratified test set (default 0.2 without test)"
      ),
      ParameterSpec(
        "label_column", .either([.string, .integer(min: nil, max: nil)]),
        doc: "the label column: header name or 0-based index (negative from the end); default last"),
      ParameterSpec("header", .boolean, doc: "whether row 1 is a header; default: detected"),
    ] + DatasetCommon.parameters)

  let train: String
  let test: String?
  let testFraction: Double
  let labelColumn: LabelColumn?
  let header: Bool?
  public var isImage: Bool { false }
  public var knownClasses: Int? { nil }
  public var knownShape: Shape? { nil }

  /// From the first line's field count and the files' sizes (at most one
  /// sample per line); nil when the training file cannot be read.
  public func estimatedSize() -> DataSize? {
    guard let peek = CSVData.peek(train) else { return nil }
    let testRows = test.flatMap(CSVData.peek)?.rows ?? 0
    return DataSize(
      train: peek.rows, test: testRows, shape: Shape(features: max(1, peek.fields - 1)), classes: 2,
      exact: false)
  }

  public var inputFiles: [String] { [train] + (test.map { [$0] } ?? []) }

  /// A `label_column` the training file's first rows contradict.
  public func settingProblem() -> DataError? {
    CSVData.settingProblem(train, labelColumn: labelColumn, header: header)
  }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let train = parameters.string("train") else { return nil }
    if parameters["test"] != nil && parameters["test_fraction"] != nil {
      validator.fail(
        parameters.path("test_fraction"), "give either test (a file) or test_fraction, not both")
      return nil
    }
    self.train = context.resolve(train)
    test = parameters.string("test").map(context.resolve)
    testFraction = parameters.double("test_fraction") ?? 0.2
    switch parameters["label_column"] {
    case .string(let name)?: labelColumn = .name(name)
    case .number(let x)?: labelColumn = .index(Int(x))
    default: labelColumn = nil
    }
    header = parameters.bool("header")
  }

  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    let (full, givenTest) = try CSVData.load(
      trainPath: train, testPath: test, labelColumn: labelColumn, header: header)
    if let givenTest { return (full, givenTest) }
    return try Self.holdOut(full, fraction: testFraction, file: train, seeds: seeds)
  }

  /// Splits a seeded, stratified test set of `fraction` off `full` (stream `("csv-test-split")`).
  static func holdOut(
    _ full: Dataset, fraction testFraction: Double, file train: String, seeds: SeedTree
  )
    throws(DataError) -> (train: Dataset, test: Dataset)
  {
    var rng = seeds.generator("csv-test-split")
    let testCount = max(
      1, Int(count: Double(full.count) * testFraction, rounding: .toNearestOrAwayFromZero))
    guard testCount < full.count else {
      throw .mismatch(reason: "\(train): \(full.count) rows are too few to hold out a test set")
    }
    let testIndices = Stratified.sample(
      labels: full.labels, classes: full.classes, size: testCount, rng: &rng)
    var isTest = [Bool](repeating: false, count: full.count)
    for i in testIndices { isTest[i] = true }
    let trainIndices = (0..<full.count).filter { !isTest[$0] }
    return (full.subset(trainIndices), full.subset(testIndices))
  }
}
