/// A labelled set of samples: features row-major in one contiguous `[Float]`.
public struct Dataset: Sendable, Equatable {
  /// `count x shape.count` floats; images are channels-last.
  public var features: [Float]
  /// One class id per sample, in `0..<classes`.
  public var labels: [Int32]
  /// The shape of one sample.
  public var shape: Shape
  /// Number of classes.
  public var classes: Int
  /// Whether samples are images (triggers and convolutions apply) or tabular rows.
  public var isImage: Bool
  /// Display name of each class id (for example CSV label strings).
  public var classNames: [String]

  /// Creates a dataset; `features.count` must equal `labels.count * shape.count`.
  /// - Parameters:
  ///   - features: the samples, row-major.
  ///   - labels: class ids.
  ///   - shape: one sample's shape.
  ///   - classes: number of classes.
  ///   - isImage: whether samples are images.
  ///   - classNames: names of the classes (default `"0"`, `"1"`, ...).
  public init(
    features: [Float], labels: [Int32], shape: Shape, classes: Int, isImage: Bool,
    classNames: [String]? = nil
  ) {
    precondition(features.count == labels.count * shape.count, "dataset size mismatch")
    self.features = features
    self.labels = labels
    self.shape = shape
    self.classes = classes
    self.isImage = isImage
    self.classNames = classNames ?? (0..<classes).map(String.init)
  }

  /// Number of samples.
  public var count: Int { labels.count }

  /// Takes `size` samples out (class-proportional, ``Stratified``) and returns them.
  /// - Parameters:
  ///   - size: samples taken.
  ///   - rng: the sampling stream.
  /// - Returns: the samples taken; `self` keeps the others, in order.
  mutating func carve(_ size: Int, rng: SplitMix64) -> Dataset {
    var rng = rng
    let chosen = Stratified.sample(labels: labels, classes: classes, size: size, rng: &rng)
    var taken = [Bool](repeating: false, count: count)
    for i in chosen { taken[i] = true }
    let carved = subset(chosen)
    self = subset((0..<count).filter { !taken[$0] })
    return carved
  }

  /// The samples at `indices`, in that order.
  /// - Parameter indices: sample indices (repeats allowed).
  /// - Returns: the samples at `indices`, in that order.
  public func subset(_ indices: [Int]) -> Dataset {
    let d = shape.count
    var out = [Float](repeating: 0, count: indices.count * d)
    features.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { target in
        for (row, index) in indices.enumerated() {
          guard let s = source.baseAddress, let t = target.baseAddress else { return }
          (t + row * d).update(from: s + index * d, count: d)
        }
      }
    }
    return Dataset(
      features: out, labels: indices.map { labels[$0] }, shape: shape, classes: classes,
      isImage: isImage, classNames: classNames)
  }

  /// Number of samples of each class.
  public var classCounts: [Int] {
    var counts = [Int](repeating: 0, count: classes)
    for label in labels { counts[Int(label)] += 1 }
    return counts
  }
}
