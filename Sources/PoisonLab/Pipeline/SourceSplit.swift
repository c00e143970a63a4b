/// How a pipeline's training set is divided among its sources and over time.
struct SourceSplit {
  /// The sample indices of each source, in arrival order.
  var members: [[Int]]
  /// The trusted samples held out for the validation gate (never trained on).
  var gateValidation: [Int] = []
  /// The trusted samples held out for a source filter's impact test (never trained on).
  var filterValidation: [Int] = []

  /// Splits `labels` among sources by `shares`: within every class, a
  /// seeded permutation (stream `("sources")`) is cut into consecutive runs
  /// of `share x class size` samples (rounded down; the remainder goes to
  /// the last source), so each source holds the classes in proportion.
  /// - Parameters:
  ///   - labels: the training labels.
  ///   - classes: the class count.
  ///   - shares: each source's share (summing to 1).
  ///   - seeds: the run's seed tree.
  init(labels: [Int32], classes: Int, shares: [Double], seeds: SeedTree) {
    var byClass = [[Int]](repeating: [], count: max(1, classes))
    for (i, label) in labels.enumerated() where Int(label) < byClass.count && label >= 0 {
      byClass[Int(label)].append(i)
    }
    var rng = seeds.generator("sources")
    members = [[Int]](repeating: [], count: shares.count)
    for var indices in byClass {
      rng.shuffle(&indices)
      var start = 0
      for (s, share) in shares.enumerated() {
        let count =
          s == shares.count - 1
          ? indices.count - start : min(indices.count - start, Int(share * Double(indices.count)))
        members[s] += indices[start..<(start + count)]
        start += count
      }
    }
    // Arrival order: each source's samples in their own seeded order.
    for s in members.indices {
      members[s].sort()
      var arrival = seeds.generator("arrival", s)
      arrival.shuffle(&members[s])
    }
  }

  /// Takes `size` samples, class-proportionally (stream `(stream)`), out of
  /// the trusted sources' samples.
  mutating func holdOut(
    _ size: Int, from trusted: [Int], labels: [Int32], classes: Int, stream: String, seeds: SeedTree
  ) -> [Int] {
    let pool = trusted.flatMap { members[$0] }.sorted()
    guard size > 0, !pool.isEmpty else { return [] }
    var rng = seeds.generator(stream)
    let chosen = Stratified.sample(
      labels: pool.map { labels[$0] }, classes: classes, size: min(size, pool.count - 1), rng: &rng
    ).map { pool[$0] }
    let taken = Set(chosen)
    for s in trusted { members[s].removeAll { taken.contains($0) } }
    return chosen.sorted()
  }

  /// Source `s`'s delivery in `cycle`: cycle 0 is the first
  /// `initial_share` of its samples, cycle c >= 1 the c-th of `cycles`
  /// equal slices of the rest.
  func delivery(_ s: Int, cycle: Int, settings: PipelineSettings) -> [Int] {
    let all = members[s]
    let initial = Int((settings.initialShare * Double(all.count)).rounded())
    if cycle == 0 { return Array(all[0..<initial]) }
    let rest = all.count - initial
    let from = initial + rest * (cycle - 1) / settings.cycles
    let to = initial + rest * cycle / settings.cycles
    return Array(all[from..<to])
  }
}
