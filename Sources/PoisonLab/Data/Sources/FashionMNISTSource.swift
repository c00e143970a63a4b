/// Fashion-MNIST: 28x28 grey images of 10 clothing classes, in IDX format.
///
/// 60,000 training and 10,000 test images (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747). Debian
/// ships it as `dataset-fashion-mnist` in `/usr/share/datasets/fashion-mnist`.
public struct FashionMNISTSource: IDXImageSource {
  /// The default location (Debian's package).
  public static let defaultPath = "/usr/share/datasets/fashion-mnist"

  public static let descriptor = PluginDescriptor(
    name: "fashion-mnist",
    summary: "Fashion-MNIST, 28x28x1 images, 10 classes (60,000 train / 10,000 test)",
    reference: "Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747",
    parameters: [
      ParameterSpec(
        "path", .string, default: .string(defaultPath),
        doc: "directory with the four IDX files (gzipped or not)")
    ] + DatasetCommon.parameters)

  let directory: IDXDirectory

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    let path = context.resolve(parameters.string("path") ?? Self.defaultPath)
    let hint =
      path == Self.defaultPath
      ? "install it with `apt-get install dataset-fashion-mnist` (or `make deps`), or set dataset.path"
      : "set dataset.path to the directory holding the Fashion-MNIST IDX files"
    directory = IDXDirectory(path: path, hint: hint)
  }

  public func load(seeds: SeedTree) throws(DataError) -> (train: Dataset, test: Dataset) {
    var (train, test) = try directory.load()
    let names = [
      "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
      "ankle boot",
    ]
    train.classNames = names
    test.classNames = names
    return (train, test)
  }
}
