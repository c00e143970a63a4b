import Foundation

/// Loads an MNIST-layout directory: `train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
/// `t10k-labels-idx1-ubyte`, each optionally gzipped (`.gz`) and also
/// accepted with a dot before `idx` (`train-images.idx3-ubyte`).
public enum IDXImages {
  /// The training and test sets of the directory, pixels in raw units.
  /// - Parameters:
  ///   - directory: the folder holding the four files.
  ///   - classes: the number of classes (labels must lie in `0..<classes`).
  ///   - hint: what to tell the user when files are missing.
  /// - Throws: `DataError` naming the file and the problem.
  /// - Returns: the training and test sets of the directory, pixels in raw units.
  public static func load(
    directory: String, classes: Int, hint: String
  ) throws(DataError) -> (train: Dataset, test: Dataset) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
      isDirectory.boolValue
    else { throw .missing(file: directory, hint: hint) }
    let train = try pair(directory: directory, prefix: "train", classes: classes, hint: hint)
    let test = try pair(directory: directory, prefix: "t10k", classes: classes, hint: hint)
    guard train.shape == test.shape else {
      throw .mismatch(
        reason: "\(directory): training images are \(train.shape) but test images are \(test.shape)"
      )
    }
    return (train, test)
  }

  /// The names a file of `stem` is accepted under, in the order tried.
  private static func names(_ directory: String, _ stem: String) -> [String] {
    let dotted = stem.replacingOccurrences(of: "-idx", with: ".idx")
    return [stem, stem + ".gz", dotted, dotted + ".gz"].map {
      (directory as NSString).appendingPathComponent($0)
    }
  }

  /// Every path loading `directory` may read.
  /// - Parameter directory: the folder.
  /// - Returns: the four files under each accepted name.
  static func candidates(in directory: String) -> [String] {
    [
      "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
      "t10k-labels-idx1-ubyte",
    ].flatMap { names(directory, $0) }
  }

  private static func locate(_ directory: String, _ stem: String) -> String? {
    names(directory, stem).first { FileManager.default.fileExists(atPath: $0) }
  }

  private static func pair(
    directory: String, prefix: String, classes: Int, hint: String
  ) throws(DataError) -> Dataset {
    let imageStem = "\(prefix)-images-idx3-ubyte"
    let labelStem = "\(prefix)-labels-idx1-ubyte"
    guard let imagePath = locate(directory, imageStem) else {
      throw .missing(
        file: (directory as NSString).appendingPathComponent(imageStem + "[.gz]"), hint: hint)
    }
    guard let labelPath = locate(directory, labelStem) else {
      throw .missing(
        file: (directory as NSString).appendingPathComponent(labelStem + "[.gz]"), hint: hint)
    }
    let images = try IDXArray(reading: imagePath)
    let labels = try IDXArray(reading: labelPath)
    guard images.dimensions.count == 3 else {
      throw .corrupt(
        file: imagePath,
        reason: "expected 3 dimensions (count, rows, columns), found \(images.dimensions)")
    }
    guard labels.dimensions.count == 1 else {
      throw .corrupt(
        file: labelPath, reason: "expected 1 dimension (count), found \(labels.dimensions)")
    }
    guard images.dimensions[0] > 0 else {
      throw .corrupt(file: imagePath, reason: "holds no images (its header declares a count of 0)")
    }
    guard images.dimensions[1] > 0, images.dimensions[2] > 0 else {
      throw .corrupt(
        file: imagePath, reason: "images of size \(images.dimensions[1])x\(images.dimensions[2])")
    }
    guard images.dimensions[0] == labels.dimensions[0] else {
      throw .mismatch(
        reason:
          "\(imagePath) holds \(images.dimensions[0]) images but \(labelPath) holds \(labels.dimensions[0]) labels"
      )
    }
    var ids = [Int32](repeating: 0, count: labels.values.count)
    for (i, value) in labels.values.enumerated() {
      guard value >= 0, value < Float(classes), value == value.rounded() else {
        throw .corrupt(
          file: labelPath, reason: "label \(value) of sample \(i) is not in 0..<\(classes)")
      }
      ids[i] = Int32(value)
    }
    return Dataset(
      features: images.values, labels: ids,
      shape: Shape(height: images.dimensions[1], width: images.dimensions[2], channels: 1),
      classes: classes, isImage: true)
  }
}
