#if canImport(Glibc)
import Glibc
#endif

/// Softmax cross-entropy over logits, computed stably:
/// `loss_b = log(sum_j exp(z_bj - m_b)) + m_b - z_b,y_b` with `m_b = max_j z_bj`.
///
/// The gradient of the *mean* loss over the batch is
/// `(softmax(z_b) - onehot(y_b)) / batch`.
public enum SoftmaxCrossEntropy {
  /// Sum of per-sample losses; optionally writes the gradient of the mean
  /// loss and each sample's predicted class.
  /// - Parameters:
  ///   - logits: `batch x classes`.
  ///   - labels: `batch` class ids.
  ///   - batch: number of samples.
  ///   - classes: number of classes.
  ///   - gradient: where to write `dMeanLoss/dLogits`, or `nil`.
  ///   - predictions: where to write argmax classes, or `nil`.
  /// - Returns: the summed loss (double precision), `nan`/`inf` if the logits are not finite.
  public static func evaluate(
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int,
    gradient: UnsafeMutablePointer<Float>? = nil,
    predictions: UnsafeMutablePointer<Int32>? = nil
  ) -> Double {
    var total = 0.0
    let scale = 1 / Float(batch)
    for b in 0..<batch {
      let z = logits + b * classes
      var best = 0
      var maximum = z[0]
      for j in 1..<max(classes, 1) where z[j] > maximum {
        maximum = z[j]
        best = j
      }
      var sum: Float = 0
      for j in 0..<classes { sum += expf(z[j] - maximum) }
      let label = Int(labels[b])
      let logSum = logf(sum)
      total += Double(logSum + maximum - z[label])
      predictions?[b] = Int32(best)
      if let gradient {
        let g = gradient + b * classes
        let inverse = 1 / sum
        for j in 0..<classes { g[j] = expf(z[j] - maximum) * inverse * scale }
        g[label] -= scale
      }
    }
    return total
  }
}
