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

@Suite("FLAME")
struct FlameTests {
  @Test(
    "opposite update rejected; admitted clipped to the median norm and averaged (hand-computed)")
  func golden() throws {
    // Cosine distances: 0 between (1,0) and (2,0), 0.00496 to (1, +-0.1), ~2 to (-10, 0).
    // HDBSCAN (min_cluster_size 3, single cluster) keeps the four similar rows.
    // Norms [1, 1.005, 1.005, 2, 10] -> S = 1.005; (2, 0) -> (1.005, 0);
    // mean x = (1 + 1 + 1 + 1.005) / 4 = 1.00125, y = 0.
    var rule = Flame(noiseLambda: 0)
    let (agg, outcome) = try rule.aggregate(
      UpdateSet(rows: [[1, 0], [1, 0.1], [1, -0.1], [2, 0], [-10, 0]]),
      context: DefenseContext(round: 1))
    #expect(outcome.flagged == [4])
    #expect(allClose(agg, [1.001_25, 0], rtol: 1e-5, atol: 1e-6))
  }

  @Test("noise std is noise_lambda x median norm (seed 3)")
  func noise() throws {
    let rows = [[Float]](repeating: [Float](repeating: 0.5, count: 4_000), count: 3)
    var rule = Flame(noiseLambda: 0.1)
    let context = DefenseContext(round: 1, rng: SplitMix64(seed: 3))
    let (agg, _) = try rule.aggregate(UpdateSet(rows: rows), context: context)
    // |g| = 0.5 sqrt(4000) = 31.62 -> std 3.162 around the mean 0.5.
    let mean = agg.reduce(0) { $0 + Double($1) } / 4_000
    let std = (agg.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / 4_000)
      .squareRoot()
    #expect(abs(mean - 0.5) < 0.15)
    #expect(abs(std - 3.162) < 0.1)
  }

  @Test("hostile updates neither trap nor pass: a huge update is rejected")
  func hostile() throws {
    var rule = Flame(noiseLambda: 0)
    let rows: [[Float]] = [[1, 0.1], [1, 0], [0.9, 0.1], [1.1, -0.1], [-3e38, 3e38]]
    let (agg, outcome) = try rule.aggregate(
      UpdateSet(rows: rows), context: DefenseContext(round: 1))
    #expect(outcome.flagged == [4])
    #expect(agg.allSatisfy { $0.isFinite })
  }

  @Test("behaviour: boosted sign-flip clients are rejected in a federation")
  func behaviour() throws {
    let out = try federated([
      #"attack={"name": "sign-flip", "clients": 3, "scale": 3}"#, "defense.name=flame",
    ])
    #expect(out.allSatisfy { $0.detectionRecall == 1 })
    #expect(try #require(out.last).accuracy > 0.75)
  }
}
