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
    let test = max(1, Int(count: Double(rows) * testFraction, rounding: .toNearestOrAwayFromZero))
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
