/// MNIST: 28x28 grey images of handwritten digits, in IDX format.
///
/// Read from a directory the user provides (LeCun, Bottou, Bengio & Haffner 1998).
public struct MNISTSource: IDXImageSource {
  public static let descriptor = PluginDescriptor(
    name: "mnist",
    summary: "MNIST digits, 28x28x1 images, 10 classes, IDX files from `path`",
    reference: "LeCun, Bottou, Bengio & Haffner 1998, Proc. IEEE 86(11)",
    parameters: [
      ParameterSpec(
        "path", .string, required: true, doc: "directory with the four IDX files (gzipped or not)")
    ] + DatasetCommon.parameters)

  let directory: IDXDirectory

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let path = parameters.string("path") else { return nil }
    directory = IDXDirectory(
      path: context.resolve(path),
      hint:
        "set dataset.path to the directory holding train-images-idx3-ubyte[.gz] and the other MNIST files"
    )
  }

  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    try directory.load()
  }
}
