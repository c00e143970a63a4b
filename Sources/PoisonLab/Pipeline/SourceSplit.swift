/// How a pipeline's training set is divided among its sources and over time.
struct SourceSplit {
  /// The sample indices of each source, in arrival order.
  var members: [[Int]]
  /// The trusted samples held out for the validation gate (never trained on).
  var gateValidation: [Int] = []
  /// The trusted samples held out for a source filter's impact test (never trained on).
  var filterValidation: [Int] = []

  /// Splits `labels` among sources by `shares`.
  ///
  /// Within every class, a seeded permutation (stream `("sources")`) is cut into consecutive runs,
  /// one per source, so each source holds the classes in proportion. The
  /// run lengths follow the largest-remainder method over the whole set:
  /// each source gets `floor(share x n)` samples plus one for the largest
  /// remainders, and the classes' cuts keep every source within one sample
  /// of its share of each class.
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
    // Each source's quota of the whole set; within each class, its
    // proportional part of the class (largest remainder again), capped by
    // what the quota has left, so per-class rounding never piles up on one source.
    let total = labels.count
    let quotas = Self.largestRemainder(shares, total: total)
    var taken = [Int](repeating: 0, count: shares.count)
    for var indices in byClass {
      rng.shuffle(&indices)
      var start = 0
      for s in shares.indices {
        let want = Self.largestRemainder(
          quotas.map { Double($0) / Double(max(1, total)) }, total: indices.count)[s]
        let count = min(want, indices.count - start, quotas[s] - taken[s])
        members[s] += indices[start..<(start + count)]
        taken[s] += count
        start += count
      }
      // What rounding left over goes to the sources still short of their quota.
      var s = 0
      while start < indices.count && s < shares.count {
        if taken[s] < quotas[s] {
          members[s].append(indices[start])
          taken[s] += 1
          start += 1
        } else {
          s += 1
        }
      }
    }
    // Arrival order: each source's samples in their own seeded order.
    for s in members.indices {
      members[s].sort()
      var arrival = seeds.generator("arrival", s)
      arrival.shuffle(&members[s])
    }
  }

  /// Integer parts of `shares x total` that sum to `total`: the floors, plus
  /// one for the largest remainders (ties to the earlier share).
  static func largestRemainder(_ shares: [Double], total: Int) -> [Int] {
    let exact = shares.map { $0 * Double(total) }
    var counts = exact.map { Int($0.rounded(.down)) }
    let left = total - counts.reduce(0, +)
    let order = exact.indices.sorted {
      let (a, b) = (exact[$0] - exact[$0].rounded(.down), exact[$1] - exact[$1].rounded(.down))
      return a != b ? a > b : $0 < $1
    }
    for k in 0..<max(0, min(left, order.count)) { counts[order[k]] += 1 }
    return counts
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

  /// What makes the split unusable for the pipeline: a source with no
  /// samples (its share is too small for the data), or one whose samples
  /// after its initial share are fewer than the cycles (some cycles would
  /// bring nothing from it).
  /// - Parameters:
  ///   - sources: the `sources` entries, in order.
  ///   - settings: the pipeline.
  ///   - total: the training samples split.
  /// - Returns: the errors, at the share or at `pipeline.cycles`.
  func problems(sources: [DataSourceSpec], settings: PipelineSettings, total: Int)
    -> [ScenarioError]
  {
    var errors: [ScenarioError] = []
    var short: [(name: String, rest: Int)] = []
    for (s, source) in sources.enumerated() {
      let count = members[s].count
      let share = JSONPath.root.appending("sources").appending(s).appending("share")
      guard count > 0 else {
        errors.append(
          ScenarioError(
            share,
            "source \(source.name) gets none of the \(total) training samples (share \(JSONValue.format(source.share))); raise its share"
          ))
        continue
      }
      let rest = count - delivery(s, cycle: 0, settings: settings).count
      if rest < settings.cycles { short.append((source.name, rest)) }
    }
    if let fewest = short.map(\.rest).min() {
      let cycles = settings.cycles == 1 ? "1 cycle is" : "\(settings.cycles) cycles are"
      let fix =
        fewest > 0
        ? "lower pipeline.cycles to at most \(fewest), or lower pipeline.initial_share"
        : "lower pipeline.initial_share (it leaves nothing for the cycles)"
      errors.append(
        ScenarioError(
          JSONPath.root.appending("pipeline").appending("cycles"),
          "\(cycles) more than the samples left after the initial share in "
            + short.map { "\($0.name) (\($0.rest))" }.joined(separator: ", ")
            + ", so some cycles would bring nothing from them; \(fix)"
        ))
    }
    return errors
  }

  /// Source `s`'s delivery in `cycle`: cycle 0 is the first
  /// `initial_share` of its samples, cycle c >= 1 the c-th of `cycles`
  /// equal slices of the rest.
  func delivery(_ s: Int, cycle: Int, settings: PipelineSettings) -> [Int] {
    let all = members[s]
    let initial = Int(
      count: settings.initialShare * Double(all.count), rounding: .toNearestOrAwayFromZero)
    if cycle == 0 { return Array(all[0..<initial]) }
    let rest = all.count - initial
    let from = initial + rest * (cycle - 1) / settings.cycles
    let to = initial + rest * cycle / settings.cycles
    return Array(all[from..<to])
  }
}
