/// Seeded Gaussian class clusters: fast, no files, for tests and demos.
///
/// See `Synthetic` for the generator. With `shape` the samples are images.
public struct SyntheticSource: DatasetSource {
  public static let descriptor = PluginDescriptor(
    name: "synthetic",
    summary: "seeded Gaussian class clusters; tabular, or images with `shape`",
    parameters: [
      ParameterSpec(
        "classes", .integer(min: 2, max: 1000), default: .number(3), doc: "number of classes"),
      ParameterSpec(
        "features", .integer(min: 1, max: 1_000_000),
        doc: "features per sample of tabular data (default 20; give either features or shape)"),
      ParameterSpec(
        "shape", .array(.integer(min: 1, max: 4096), minCount: 3, maxCount: 3),
        doc: "[height, width, channels]: generate images of this shape"),
      ParameterSpec(
        "train_size", .integer(min: 1, max: nil), default: .number(1000), doc: "training samples"),
      ParameterSpec(
        "test_size", .integer(min: 1, max: nil), default: .number(500), doc: "test samples"),
      ParameterSpec(
        "separation", .number(atLeast: 0), default: .number(3),
        doc:
          "scale of the class centres in noise stds: each is separation / sqrt 2 from the origin in a random direction, so about separation apart with many features (with few, two directions can nearly coincide: 1 feature and 3 classes puts two on one side)"
      ),
    ] + DatasetCommon.parameters.filter { $0.key == "normalize" })

  /// Most values (samples x features) a synthetic dataset may hold.
  public static let maxFloats = 1 << 30

  let classes: Int
  let shape: Shape
  let imageData: Bool
  let trainSize: Int
  let testSize: Int
  let separation: Double
  public var isImage: Bool { imageData }
  public var knownClasses: Int? { classes }
  public var knownShape: Shape? { shape }
  public func estimatedSize() -> DataSize? {
    DataSize(train: trainSize, test: testSize, shape: shape, classes: classes)
  }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    classes = parameters.int("classes") ?? 3
    if let dims = parameters.ints("shape") {
      if parameters.given.contains("features") {
        validator.fail(parameters.path("features"), "give either features or shape, not both")
        return nil
      }
      shape = Shape(height: dims[0], width: dims[1], channels: dims[2])
      imageData = true
    } else {
      shape = Shape(features: parameters.int("features") ?? 20)
      imageData = false
    }
    trainSize = parameters.int("train_size") ?? 1000
    testSize = parameters.int("test_size") ?? 500
    separation = parameters.double("separation") ?? 3
    let (samples, overflow1) = trainSize.addingReportingOverflow(testSize)
    let (floats, overflow2) = samples.multipliedReportingOverflow(by: shape.count)
    if overflow1 || overflow2 || floats > Self.maxFloats {
      // Named at a key the scenario set: the larger of the sizes it gave,
      // else the sample shape.
      let given = parameters.given
      let key =
        given.contains("test_size") && (!given.contains("train_size") || testSize > trainSize)
        ? "test_size"
        : given.contains("train_size") || !(given.contains("shape") || given.contains("features"))
          ? "train_size" : imageData ? "shape" : "features"
      validator.fail(
        parameters.path(key),
        "\(samples) samples of \(shape.count) features exceed the \(Self.maxFloats) values (4 GiB) synthetic data may hold"
      )
      return nil
    }
  }

  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    var rng = seeds.generator("synthetic-data")
    return Synthetic.generate(
      classes: classes, shape: shape, isImage: imageData, trainSize: trainSize, testSize: testSize,
      separation: separation, rng: &rng)
  }
}
