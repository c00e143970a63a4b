/// Seeded Gaussian class clusters, for tests and quick demos.
///
/// Class `c` has centre `mu_c = separation / sqrt(2) * u_c`, with `u_c` a
/// uniformly random unit vector (so centres are about `separation` apart
/// when the features are many and the directions nearly orthogonal; with
/// one feature every direction is +1 or -1 and classes share centres);
/// a sample is `mu_c + N(0, I)`. Classes are balanced (round-robin labels).
/// With a `shape`, samples are images of that shape (so `cnn` and trigger
/// backdoors apply); values stay in the same units.
enum Synthetic {
  /// Draws a training and a test set from one generator.
  /// - Parameters:
  ///   - classes: number of classes (>= 2).
  ///   - shape: sample shape (`Shape(features:)` for tabular).
  ///   - isImage: whether samples are images.
  ///   - trainSize: training samples.
  ///   - testSize: test samples.
  ///   - separation: distance scale between class centres.
  ///   - rng: the generator.
  /// - Returns: the training and test sets.
  static func generate(
    classes: Int, shape: Shape, isImage: Bool, trainSize: Int, testSize: Int, separation: Double,
    rng: inout SplitMix64
  ) -> (train: Dataset, test: Dataset) {
    let d = shape.count
    var centres = [Double](repeating: 0, count: classes * d)
    for c in 0..<classes {
      var norm = 0.0
      for j in 0..<d {
        let g = rng.nextGaussian()
        centres[c * d + j] = g
        norm += g * g
      }
      let scale = separation / 2.0.squareRoot() / max(norm.squareRoot(), 1e-12)
      for j in 0..<d { centres[c * d + j] *= scale }
    }
    func draw(_ n: Int) -> Dataset {
      var features = [Float](repeating: 0, count: n * d)
      var labels = [Int32](repeating: 0, count: n)
      for i in 0..<n {
        let c = i % classes
        labels[i] = Int32(c)
        for j in 0..<d { features[i * d + j] = Float(centres[c * d + j] + rng.nextGaussian()) }
      }
      return Dataset(
        features: features, labels: labels, shape: shape, classes: classes, isImage: isImage)
    }
    let train = draw(trainSize)
    let test = draw(testSize)
    return (train, test)
  }
}
