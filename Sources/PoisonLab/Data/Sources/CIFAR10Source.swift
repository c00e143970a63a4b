/// CIFAR-10 (Krizhevsky 2009), binary version: 32x32x3 colour images of 10
/// classes, 50,000 training and 10,000 test.
public struct CIFAR10Source: DatasetSource {
  public static let descriptor = PluginDescriptor(
    name: "cifar10",
    summary: "CIFAR-10 binary batches, 32x32x3 images, 10 classes",
    reference: "Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images",
    parameters: [
      ParameterSpec(
        "path", .string, required: true,
        doc: "directory with data_batch_1.bin ... data_batch_5.bin and test_batch.bin")
    ] + DatasetCommon.parameters)

  let path: String
  public var isImage: Bool { true }
  public var knownClasses: Int? { 10 }
  public var knownShape: Shape? { Shape(height: 32, width: 32, channels: 3) }
  public func estimatedSize() -> DataSize? {
    DataSize(
      train: 50_000, test: 10_000, shape: Shape(height: 32, width: 32, channels: 3), classes: 10)
  }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let path = parameters.string("path") else { return nil }
    self.path = context.resolve(path)
  }

  public var inputFiles: [String] { CIFAR10.files(in: path) }

  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    try CIFAR10.load(
      directory: path,
      hint: "set dataset.path to the extracted cifar-10-batches-bin directory (the binary version)")
  }
}
