/// A dataset plug-in: where samples come from (`dataset.name`).
///
/// Loaders return raw values (pixels 0-255); subsampling, poisoning and
/// normalisation happen afterwards, in that order, in the experiment.
public protocol DatasetSource: Plugin {
  /// Whether samples are images.
  var isImage: Bool { get }
  /// The class count when known before loading.
  var knownClasses: Int? { get }
  /// The sample shape when known before loading.
  var knownShape: Shape? { get }
  /// Loads (or generates) the training and test sets.
  /// - Parameter seeds: the run's seed tree (for generated data and splits).
  /// - Throws: `DataError` naming the file and the problem.
  /// - Returns: the training and test sets in raw units.
  func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset)
  /// What loading will hold, estimated before loading (for the memory
  /// budget and the checks `validate` shares with `run`); nil when unknown.
  func estimatedSize() -> DataSize?
  /// A `dataset` setting that the data's files contradict, found cheaply
  /// before loading (read from a file's first lines), so that `validate`
  /// reports it; nil when none is found or nothing can be checked early.
  func settingProblem() -> DataError?
  /// The files loading may read (every name a loader would accept), so
  /// that no output of a run may name one of them; empty for generated data.
  var inputFiles: [String] { get }
}

extension DatasetSource {
  public func settingProblem() -> DataError? { nil }
  public var inputFiles: [String] { [] }
}

/// The size of a dataset as estimated before loading it.
public struct DataSize: Sendable, Equatable {
  /// Training samples.
  public var train: Int
  /// Test samples.
  public var test: Int
  /// Values per sample.
  public var shape: Shape
  /// Classes (a lower bound when not known before loading).
  public var classes: Int
  /// Whether the sample counts are the dataset's own (not an estimate from
  /// a file's size), so that `train_size` and `test_size` can be checked
  /// before loading.
  public var exact: Bool

  /// Creates an estimate.
  /// - Parameters:
  ///   - train: training samples.
  ///   - test: test samples.
  ///   - shape: the sample shape.
  ///   - classes: the class count.
  ///   - exact: whether the counts are exact.
  public init(train: Int, test: Int, shape: Shape, classes: Int, exact: Bool = true) {
    self.train = train
    self.test = test
    self.shape = shape
    self.classes = classes
    self.exact = exact
  }
}

/// Keys every dataset accepts, applied by the experiment after loading.
public enum DatasetCommon {
  /// `train_size`, `test_size`, `normalize`.
  public static let parameters: [ParameterSpec] = [
    ParameterSpec(
      "train_size", .integer(min: 1, max: nil),
      doc: "keep a seeded, stratified subsample of this many training samples"),
    ParameterSpec(
      "test_size", .integer(min: 1, max: nil),
      doc: "keep a seeded, stratified subsample of this many test samples"),
    ParameterSpec(
      "normalize", .choice(Normalization.allCases.map(\.rawValue)), default: .string("standard"),
      doc: "standard: (x - mean) / std, one mean/std for images, per column for tabular; "
        + "minmax: to [0, 1]; none: raw values (statistics from the training set)"),
  ]
}

/// Shared by the IDX-format sources (`fashion-mnist`, `mnist`).
struct IDXDirectory: Sendable {
  var path: String
  var hint: String

  func load() throws(DataError) -> (train: Dataset, test: Dataset) {
    try IDXImages.load(directory: path, classes: 10, hint: hint)
  }
}

/// A 10-class, 28x28x1 image source in MNIST's IDX layout.
///
/// The shape is what validation assumes; the loaded files are checked again
/// at run time.
protocol IDXImageSource: DatasetSource {
  /// Where the files are, and what to say when they are missing.
  var directory: IDXDirectory { get }
}

extension IDXImageSource {
  public var inputFiles: [String] { IDXImages.candidates(in: directory.path) }
  public var isImage: Bool { true }
  public var knownClasses: Int? { 10 }
  public var knownShape: Shape? { Shape(height: 28, width: 28, channels: 1) }
  /// MNIST and Fashion-MNIST: 60,000 training and 10,000 test images.
  public func estimatedSize() -> DataSize? {
    DataSize(
      train: 60_000, test: 10_000, shape: Shape(height: 28, width: 28, channels: 1), classes: 10)
  }
}
