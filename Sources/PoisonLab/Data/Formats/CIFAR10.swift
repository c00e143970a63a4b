import Foundation

/// Loads the CIFAR-10 binary version.
///
/// Files: `data_batch_1.bin` ... `data_batch_5.bin` and `test_batch.bin`, each a sequence of
/// 3,073-byte records (one label byte, then 1,024 red, 1,024 green and 1,024 blue bytes of a 32x32
/// image). Images are converted to channels-last order.
enum CIFAR10 {
  static let recordSize = 3073

  /// The six batch files of `directory`: the five training batches, then the test batch.
  /// - Parameter directory: the folder.
  /// - Returns: their paths.
  static func files(in directory: String) -> [String] {
    ((1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]).map {
      (directory as NSString).appendingPathComponent($0)
    }
  }

  /// The training and test sets, pixels in raw units (0-255).
  /// - Parameters:
  ///   - directory: the folder holding the six batch files.
  ///   - hint: what to tell the user when files are missing.
  /// - Throws: `DataError` naming the file and the problem.
  /// - Returns: the training and test sets, pixels in raw units (0-255).
  static func load(directory: String, hint: String) throws(DataError) -> (
    train: Dataset, test: Dataset
  ) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
      isDirectory.boolValue
    else { throw .missing(file: directory, hint: hint) }
    let paths = files(in: directory)
    var train: [Dataset] = []
    for path in paths.dropLast() { train.append(try batch(path, hint: hint)) }
    let test = try batch(paths[paths.count - 1], hint: hint)
    var merged = train[0]
    for part in train.dropFirst() {
      merged.features += part.features
      merged.labels += part.labels
    }
    return (merged, test)
  }

  /// Parses one batch file.
  /// - Parameters:
  ///   - path: the `.bin` file.
  ///   - hint: what to tell the user when it is missing.
  /// - Returns: the batch's images and labels.
  /// - Throws: `DataError` naming the file and the problem.
  static func batch(_ path: String, hint: String = "") throws(DataError) -> Dataset {
    let bytes = try FileBytes.read(path, hint: hint, limit: 1 << 30)
    guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
      throw .corrupt(
        file: path,
        reason:
          "size \(bytes.count) bytes is not a positive multiple of the \(recordSize)-byte CIFAR-10 record"
      )
    }
    let count = bytes.count / recordSize
    var features = [Float](repeating: 0, count: count * 3072)
    var labels = [Int32](repeating: 0, count: count)
    for r in 0..<count {
      let base = r * recordSize
      guard bytes[base] < 10 else {
        throw .corrupt(file: path, reason: "record \(r) has label \(bytes[base]), expected 0...9")
      }
      labels[r] = Int32(bytes[base])
      for pixel in 0..<1024 {
        for channel in 0..<3 {
          features[r * 3072 + pixel * 3 + channel] = Float(bytes[base + 1 + channel * 1024 + pixel])
        }
      }
    }
    return Dataset(
      features: features, labels: labels, shape: Shape(height: 32, width: 32, channels: 3),
      classes: 10, isImage: true,
      classNames: [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
      ])
  }
}
