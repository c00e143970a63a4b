import PoisonLab
import Testing

func partition(_ block: String) throws -> any Partition {
  let s = try scenario(
    #"{"name": "p", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "federation": {"clients": 4, "partition": \#(block)}}"#
  )
  return try #require(s.federation?.partition)
}

@Suite("Partitions")
struct PartitionTests {
  let labels: [Int32] = (0..<1000).map { Int32($0 % 10) }

  func checkCover(_ parts: [[Int]], clients: Int) {
    #expect(parts.count == clients)
    #expect(parts.allSatisfy { !$0.isEmpty && $0 == $0.sorted() })
    #expect(parts.flatMap { $0 }.sorted() == Array(0..<labels.count))
  }

  @Test("iid: sizes differ by at most one, every sample once (seeds 0-4)", arguments: 0..<5)
  func iid(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    let parts = try partition(#"{"name": "iid"}"#).assign(
      labels: labels, classes: 10, clients: 7, rng: &rng)
    checkCover(parts, clients: 7)
    #expect(Set(parts.map(\.count)) == [142, 143])
  }

  @Test(
    "dirichlet: small alpha skews labels, large alpha is near IID; nobody is empty (seeds 0-4)",
    arguments: 0..<5)
  func dirichlet(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    let skewed = try partition(#"{"name": "dirichlet", "alpha": 0.05}"#).assign(
      labels: labels, classes: 10, clients: 20, rng: &rng)
    checkCover(skewed, clients: 20)
    let classesPerClient = skewed.map { Set($0.map { labels[$0] }).count }
    #expect(Double(classesPerClient.reduce(0, +)) / 20 < 4)
    let mixed = try partition(#"{"name": "dirichlet", "alpha": 1000}"#).assign(
      labels: labels, classes: 10, clients: 5, rng: &rng)
    checkCover(mixed, clients: 5)
    #expect(mixed.allSatisfy { Set($0.map { labels[$0] }).count == 10 })
  }

  @Test("shards: each client gets shards_per_client label-sorted shards")
  func shards() throws {
    var rng = SplitMix64(seed: 3)
    let parts = try partition(#"{"name": "shards", "shards_per_client": 2}"#).assign(
      labels: labels, classes: 10, clients: 10, rng: &rng)
    checkCover(parts, clients: 10)
    #expect(parts.allSatisfy { $0.count == 100 })
    #expect(parts.allSatisfy { Set($0.map { labels[$0] }).count <= 2 })
  }

  @Test("Dirichlet draws sum to one; Gamma has the right mean (seed 8)")
  func gamma() {
    var rng = SplitMix64(seed: 8)
    let q = rng.nextDirichlet(alpha: 0.3, count: 12)
    #expect(isClose(q.reduce(0, +), 1, rtol: 1e-12))
    for shape in [0.3, 1, 4.5] {
      let mean = (0..<20_000).reduce(0.0) { r, _ in r + rng.nextGamma(shape: shape) } / 20_000
      #expect(isClose(mean, shape, rtol: 0.05))
    }
  }
}
