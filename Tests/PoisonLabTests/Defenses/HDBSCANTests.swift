import PoisonLab
import Testing

/// The Euclidean distance matrix of 2-D points, row-major.
private func euclidean(_ points: [[Double]]) -> [Double] {
  points.flatMap { a in
    points.map { b in ((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1])).squareRoot() }
  }
}

/// Goldens from scikit-learn 1.9.1 `HDBSCAN(metric="precomputed")`, made by
/// `Fixtures/hdbscan_reference.py` (labels renumbered by first appearance).
@Suite("HDBSCAN: scikit-learn goldens")
struct HDBSCANTests {
  static let twoBlobs: [[Double]] = [
    [0.0, 0.09], [-0.082, -0.267], [-0.136, -0.297], [0.018, 0.402], [-0.148, -0.186],
    [0.147, 0.107], [5.032, 4.721], [4.991, 5.209], [4.597, 4.863], [4.43, 4.613],
    [4.447, 4.929], [4.62, 5.081], [10.0, -5.0], [-6.0, 8.0],
  ]
  static let flame: [[Double]] = [
    [-0.094, 0.341], [-0.033, 0.334], [0.719, -0.338], [0.102, -0.232], [0.064, -0.594],
    [-0.29, -0.098], [0.449, 0.573], [-0.662, -0.397], [4.065, 3.801], [3.954, 3.99],
    [4.126, 4.069],
  ]

  @Test("two blobs, min_cluster_size 3, min_samples 1: the first blob splits in two")
  func twoBlobsSingleLinkage() {
    let labels = HDBSCAN.labels(
      distances: euclidean(Self.twoBlobs), n: 14, minClusterSize: 3, minSamples: 1)
    #expect(labels == [0, 1, 1, 0, 1, 0, 2, 2, 2, 2, 2, 2, -1, -1])
  }

  @Test("two blobs, min_samples 3: core distances smooth the first blob into one cluster")
  func twoBlobsCoreDistance() {
    let labels = HDBSCAN.labels(
      distances: euclidean(Self.twoBlobs), n: 14, minClusterSize: 3, minSamples: 3)
    #expect(labels == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, -1, -1])
  }

  @Test("three blobs of unequal density and a far outlier")
  func threeBlobs() {
    let points: [[Double]] = [
      [0.031, -0.037], [-0.503, -0.108], [-0.01, 0.023], [-0.306, -0.096], [-0.196, -0.162],
      [3.212, 2.838], [2.993, 3.177], [2.883, 2.978], [3.022, 3.013], [2.755, 3.015],
      [1.359, 4.453], [0.859, 6.119], [-0.641, 8.0], [0.762, 4.801], [0.075, 6.577], [20.0, 20.0],
    ]
    let labels = HDBSCAN.labels(
      distances: euclidean(points), n: 16, minClusterSize: 4, minSamples: 2)
    #expect(labels == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, -1])
  }

  @Test("FLAME setting (n/2 + 1, single cluster allowed): the minority and loose points are noise")
  func flameSetting() {
    let labels = HDBSCAN.labels(
      distances: euclidean(Self.flame), n: 11, minClusterSize: 6, minSamples: 1,
      allowSingleCluster: true)
    #expect(labels == [0, 0, -1, 0, 0, 0, -1, 0, -1, -1, -1])
  }

  @Test("without allow_single_cluster the same points are all noise")
  func flameSettingNoRoot() {
    let labels = HDBSCAN.labels(
      distances: euclidean(Self.flame), n: 11, minClusterSize: 6, minSamples: 1)
    #expect(labels == [Int](repeating: -1, count: 11))
  }

  @Test("duplicate points (zero distances) neither trap nor split the majority")
  func duplicates() {
    let points = [[Double]](repeating: [1, 1], count: 5) + [[9, 9], [9, 9]]
    let labels = HDBSCAN.labels(
      distances: euclidean(points), n: 7, minClusterSize: 4, allowSingleCluster: true)
    #expect(labels == [0, 0, 0, 0, 0, -1, -1])
  }
}
