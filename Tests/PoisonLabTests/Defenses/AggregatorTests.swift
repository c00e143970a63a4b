import PoisonLab
import Testing

/// Aggregates `rows` with `defense` in round 1.
func aggregate(
  _ defense: some Aggregator, _ rows: [[Float]], weights: [Double]? = nil,
  context: DefenseContext = DefenseContext(round: 1)
) throws -> (aggregate: [Float], outcome: DefenseOutcome) {
  var rule = defense
  return try rule.aggregate(UpdateSet(rows: rows, weights: weights), context: context)
}

@Suite("Aggregators: hand-computed goldens")
struct AggregatorTests {
  @Test("fedavg weights by sample count; mean does not")
  func means() throws {
    let rows: [[Float]] = [[1, 2], [3, 4], [5, 6]]
    #expect(allClose(try aggregate(FedAvg(), rows, weights: [1, 1, 2]).aggregate, [3.5, 4.5]))
    #expect(allClose(try aggregate(Mean(), rows, weights: [1, 1, 2]).aggregate, [3, 4]))
  }

  @Test("median: odd count picks the middle, even count averages the two middle values")
  func median() throws {
    #expect(try aggregate(CoordinateMedian(), [[1, 5], [3, -1], [2, 10]]).aggregate == [2, 5])
    #expect(try aggregate(CoordinateMedian(), [[1], [4], [2], [10]]).aggregate == [3])
    #expect(try aggregate(CoordinateMedian(), [[7]]).aggregate == [7])
  }

  @Test("trimmed mean drops f largest and f smallest per coordinate")
  func trimmedMean() throws {
    #expect(
      allClose(
        try aggregate(TrimmedMean(f: 1), [[1, 9], [2, -50], [3, 8], [100, 7]]).aggregate,
        [2.5, 7.5]))
    #expect(allClose(try aggregate(TrimmedMean(f: 0), [[1], [2], [6]]).aggregate, [3]))
    #expect(throws: DefenseError.self) { try aggregate(TrimmedMean(f: 2), [[1], [2], [3], [4]]) }
  }

  @Test(
    "krum: score = sum of squared distances to the n - f - 2 nearest; lowest wins, ties to the lower index"
  )
  func krum() throws {
    // Points 0, 1, 2, 3, 100 with f = 1: two neighbours each; scores 5, 2, 2, 5, 19013.
    let (agg, outcome) = try aggregate(Krum(f: 1), [[0], [1], [2], [3], [100]])
    #expect(agg == [1])
    #expect(outcome.flagged == [0, 2, 3, 4])
    #expect(outcome.scores == [5, 2, 2, 5, 19_013])
    #expect(throws: DefenseError.self) {
      try aggregate(Krum(f: 2), [[0], [1], [2], [3], [4], [5]])
    }
  }

  @Test("multi-krum averages the m lowest-scored updates (m defaults to n - f)")
  func multiKrum() throws {
    let (agg, outcome) = try aggregate(MultiKrum(f: 1), [[0], [1], [2], [3], [100]])
    #expect(allClose(agg, [1.5]))
    #expect(outcome.flagged == [4])
    let two = try aggregate(MultiKrum(f: 1, m: 2), [[0], [1], [2], [3], [100]])
    #expect(allClose(two.aggregate, [1.5]))
    #expect(two.outcome.flagged == [0, 3, 4])
  }

  @Test(
    "bulyan: recursive Krum selects {2, 3, 1, 4, 0}; mean of the 3 values closest to the median")
  func bulyan() throws {
    // Worked by hand in the test's comment trail: selections 2, 3, 1, 4, 0;
    // beta = 3 around median 2.
    let (agg, outcome) = try aggregate(Bulyan(f: 1), [[0], [1], [2], [3], [4], [5], [100]])
    #expect(allClose(agg, [2]))
    #expect(outcome.flagged == [5, 6])
    #expect(throws: DefenseError.self) {
      try aggregate(Bulyan(f: 1), [[0], [1], [2], [3], [4], [5]])
    }
  }

  /// Golden from Fixtures/bulyan_reference.py (NumPy, Flower's max(1, k - f - 2) neighbours).
  @Test("bulyan f = 1, n = 7: an outlier stays out of the selection in row 0 or row 6 (golden)")
  func bulyanLastSelections() throws {
    let honest: [[Float]] = [
      [0, 1], [0.1, 0.7], [0.3, 0.2], [0.35, 0.9], [0.52, 0.45], [0.9, 0.6],
    ]
    let first = try aggregate(Bulyan(f: 1), [[100, 100]] + honest)
    #expect(allClose(first.aggregate, [0.25, 0.683_333_3], atol: 1e-6))
    #expect(first.outcome.flagged == [0, 6])
    let last = try aggregate(Bulyan(f: 1), honest + [[100, 100]])
    #expect(allClose(last.aggregate, [0.25, 0.683_333_3], atol: 1e-6))
    #expect(last.outcome.flagged == [5, 6])
    // Honest rows reversed: the last selection is a tie between the two
    // mutually nearest updates, broken by value, not by position.
    let reversed = try aggregate(Bulyan(f: 1), [[100, 100]] + honest.reversed())
    #expect(allClose(reversed.aggregate, [0.25, 0.683_333_3], atol: 1e-6))
    #expect(reversed.outcome.flagged == [0, 1])
  }

  @Test("bulyan's aggregate is the same for every order of the updates (seeded shuffles 1-20)")
  func bulyanOrder() throws {
    var rng = SplitMix64(seed: 77)
    let rows: [[Float]] = (0..<11).map { i in
      (0..<5).map { _ in rng.nextUnitFloat() + (i == 3 ? 50 : 0) }
    }
    let reference = try aggregate(Bulyan(f: 2), rows)
    func flaggedRows(_ order: [Int], _ flagged: [Int]) -> Set<[Float]> {
      Set(flagged.map { rows[order[$0]] })
    }
    for seed in 1...20 {
      var shuffle = SplitMix64(seed: UInt64(seed))
      var order = Array(rows.indices)
      for i in stride(from: order.count - 1, to: 0, by: -1) {
        order.swapAt(i, Int(shuffle.next() % UInt64(i + 1)))
      }
      let permuted = try aggregate(Bulyan(f: 2), order.map { rows[$0] })
      #expect(permuted.aggregate == reference.aggregate, "shuffle \(seed)")
      #expect(
        flaggedRows(order, permuted.outcome.flagged)
          == flaggedRows(Array(rows.indices), reference.outcome.flagged))
    }
    #expect(reference.outcome.flagged.contains(3))
  }

  @Test("geometric median: symmetric points give the centre; an outlier moves it little")
  func geometricMedian() throws {
    let (centre, _) = try aggregate(GeometricMedian(), [[1, 0], [-1, 0], [0, 1], [0, -1]])
    #expect(allClose(centre, [0, 0], atol: 1e-4))
    // Three points at the corners of a triangle plus a far outlier: the Weiszfeld fixed point
    // stays inside the triangle (the mean would be pulled to x = 250).
    let (robust, outcome) = try aggregate(
      GeometricMedian(), [[0, 0], [1, 0], [0, 1], [1000, 0]])
    #expect(robust[0] < 1 && robust[1] < 1)
    let weights = try #require(outcome.scores)
    #expect(weights[3] < 0.01)
    // Two of five rows at 1e19: from the mean, Weiszfeld needs about 110
    // iterations (the default bound, 1,000, lets it converge; 100 left it
    // at 17). Golden from geometric_median_reference.py (float64).
    let far: [[Float]] = [[1e19, 1e19], [1e19, 1e19], [0.1, 0.2], [0.3, 0.1], [0.2, 0.3]]
    let (median, _) = try aggregate(GeometricMedian(), far)
    #expect(allClose(median, [0.2232985, 0.29682229], atol: 1e-3), "\(median)")
    let (cut, _) = try aggregate(GeometricMedian(iterations: 100), far)
    #expect(cut[0] > 1, "100 iterations no longer fall short: \(cut)")
  }

  @Test("centered clipping: v1 = v0 + mean of clipped differences (tau 1, one iteration)")
  func centeredClipping() throws {
    let (agg, outcome) = try aggregate(
      CenteredClipping(tau: 1, iterations: 1), [[3, 0], [0, 0.5]])
    #expect(allClose(agg, [0.5, 0.25]))
    #expect(outcome.scores.map { allClose($0.map(Float.init), [1.0 / 3, 1]) } == true)
    // Starting from the previous aggregate [1, 1]: differences [2, -1], [-1, -0.5] clipped to
    // norm 1.
    let context = DefenseContext(round: 2, previousAggregate: [1, 1])
    let (moved, _) = try aggregate(
      CenteredClipping(tau: 1, iterations: 1), [[3, 0], [0, 0.5]], context: context)
    let a = (2.0, -1.0)
    let na = (a.0 * a.0 + a.1 * a.1).squareRoot()
    let b = (-1.0, -0.5)
    let nb = (b.0 * b.0 + b.1 * b.1).squareRoot()
    let expected = [1 + (a.0 / na + b.0 / nb) / 2, 1 + (a.1 / na + b.1 / nb) / 2].map(Float.init)
    #expect(allClose(moved, expected, rtol: 1e-5))
  }

  @Test(
    "non-finite updates: robust rules never see them (flagged), fedavg's aggregate carries them")
  func hostile() throws {
    let rows: [[Float]] = [[.nan, 1], [.infinity, 2], [1e30, 3], [0, 4], [1, 5]]
    func run(_ rule: any Defense) throws -> DefenseChain.Result {
      var chain = DefenseChain([rule])
      return try chain.run(
        UpdateSet(rows: rows), round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(0))
    }
    // The chain leaves the two non-finite rows out before a robust rule
    // (given them directly, krum picks the NaN row: its scores are NaN), and
    // the rules assume f less the rows left out: f = 1 - 2 -> 0 on the rows
    // [1e30, 3], [0, 4], [1, 5], so trimmed-mean and multi-krum average all
    // three and krum takes the smaller of the two closest rows.
    let robust: [(any Defense, [Float])] = [
      (CoordinateMedian(), [1, 4]), (TrimmedMean(f: 1), [Float(1e30) / 3, 4]),
      (Krum(f: 1), [0, 4]), (MultiKrum(f: 1), [Float(1e30) / 3, 4]),
    ]
    for (rule, expected) in robust {
      let result = try run(rule)
      #expect(result.rejectedNonFinite == 2)
      #expect(Array(result.flagged.prefix(2)) == [true, true], "\(rule)")
      #expect(result.aggregate == expected, "\(rule): \(result.aggregate)")
    }
    for rule: any Defense in [GeometricMedian(), CenteredClipping(tau: 1, iterations: 2)] {
      let result = try run(rule)
      #expect(result.rejectedNonFinite == 2)
      #expect(result.aggregate.allSatisfy { $0.isFinite }, "\(rule): \(result.aggregate)")
    }
    // fedavg propagates them: the run then stops as diverged (exit 3).
    let mean = try run(FedAvg())
    #expect(mean.rejectedNonFinite == 0)
    #expect(!mean.aggregate[0].isFinite)
    #expect(mean.aggregate[1] == 3)
  }
}

@Suite("Filters: hand-computed goldens")
struct FilterTests {
  func filter(_ defense: some UpdateFilter, _ rows: [[Float]], seed: UInt64 = 0) throws -> (
    UpdateSet, DefenseOutcome
  ) {
    var rule = defense
    var set = UpdateSet(rows: rows)
    let outcome = try rule.filter(
      &set, context: DefenseContext(round: 1, rng: SplitMix64(seed: seed)))
    return (set, outcome)
  }

  @Test("norm-clip scales updates above the bound; median bound from the round")
  func normClip() throws {
    let (fixed, outcome) = try filter(NormClip(maxNorm: 1), [[3, 4], [0.6, 0.8]])
    #expect(allClose(fixed.values, [0.6, 0.8, 0.6, 0.8]))
    #expect(outcome.flagged.isEmpty)
    #expect(outcome.scores.map { allClose($0.map(Float.init), [5, 1]) } == true)
    let (median, _) = try filter(NormClip(maxNorm: nil), [[3, 4], [0.6, 0.8]])
    #expect(allClose(median.values, [1.8, 2.4, 0.6, 0.8]))
  }

  @Test("nnm replaces each update by the mean of its n - f nearest (itself included)")
  func nnm() throws {
    let (mixed, _) = try filter(NearestNeighborMixing(f: 1), [[0], [1], [10]])
    #expect(allClose(mixed.values, [0.5, 0.5, 5.5]))
  }

  @Test(
    "bucketing: ceil(n/size) bucket means with summed weights; the total is preserved (seeds 0-4)",
    arguments: 0..<5)
  func bucketing(seed: UInt64) throws {
    let rows: [[Float]] = [[1], [2], [3], [4], [10]]
    let (buckets, _) = try filter(Bucketing(size: 2), rows, seed: seed)
    #expect(buckets.count == 3)
    #expect(buckets.weights.sorted() == [1, 2, 2])
    let total = zip(buckets.values, buckets.weights).reduce(0.0) { $0 + Double($1.0) * $1.1 }
    #expect(isClose(total, 20))
    #expect(buckets.owners.flatMap { $0 }.sorted() == [0, 1, 2, 3, 4])
  }

  @Test("anomaly rejects the update whose norm is an outlier")
  func anomaly() throws {
    let rows: [[Float]] = [[1, 0], [0.9, 0.1], [1.1, -0.1], [1, 0.05], [0.95, 0], [50, 0]]
    let (kept, outcome) = try filter(AnomalyFilter(threshold: 2), rows)
    #expect(outcome.flagged == [5])
    #expect(kept.count == 5)
  }
}

@Suite("Selection")
struct SelectionTests {
  @Test(
    "quickselect-based median and trimmed mean equal the sort-based answer (seeds 0-49)",
    arguments: 0..<50)
  func selection(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    let n = 1 + rng.nextInt(below: 30)
    let column: [Float] = (0..<n).map { _ in Float(rng.nextInt(below: 7)) - 3 }  // many ties
    let sorted = column.sorted()
    let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    let rows = column.map { [$0] }
    #expect(try aggregate(CoordinateMedian(), rows).aggregate == [median])
    let f = rng.nextInt(below: (n + 1) / 2)
    let kept = sorted[f..<(n - f)]
    let trimmed = Float(kept.reduce(0.0) { $0 + Double($1) } / Double(kept.count))
    #expect(allClose(try aggregate(TrimmedMean(f: f), rows).aggregate, [trimmed]))
  }

  @Test("coordinate-wise work gives the same result for 1 and 3 threads")
  func threads() throws {
    let rows = (0..<7).map { i in gaussian(1500, seed: UInt64(i)) }
    let one = try aggregate(CoordinateMedian(), rows, context: DefenseContext(round: 1, threads: 1))
      .aggregate
    let three = try aggregate(
      CoordinateMedian(), rows, context: DefenseContext(round: 1, threads: 3)
    ).aggregate
    #expect(one == three)
  }
}

@Suite("DnC and weak DP")
struct DnCTests {
  @Test(
    "dnc: top singular direction scores ((g - mu) . v)^2 = [4, 0, 1, 1, 16]; the largest is removed"
  )
  func golden() throws {
    // Points on a line: mean (1, 0), centred [-2, 0, -1, -1, 4] along x, v = (+-1, 0).
    let rows: [[Float]] = [[-1, 0], [1, 0], [0, 0], [0, 0], [5, 0]]
    let scores = try DivideAndConquer.scores(UpdateSet(rows: rows), columns: [0, 1])
    #expect(allClose(scores.map(Float.init), [4, 0, 1, 1, 16], rtol: 1e-5, atol: 1e-5))
    let (agg, outcome) = try aggregate(DivideAndConquer(f: 1), rows)
    #expect(allClose(agg, [0, 0], atol: 1e-6))
    #expect(outcome.flagged == [4])
  }

  @Test("dnc removes a shifted group on random coordinate subsets (seed 6)")
  func behaviour() throws {
    var rows = (0..<12).map { gaussian(500, seed: UInt64($0), scale: 0.1) }
    for i in 9..<12 {
      for j in stride(from: 0, to: 500, by: 2) { rows[i][j] += 1 }
    }
    var rule = DivideAndConquer(f: 3, iterations: 5, dimensions: 100)
    let result = try rule.aggregate(
      UpdateSet(rows: rows), context: DefenseContext(round: 1, rng: SplitMix64(seed: 6)))
    #expect(result.outcome.flagged == [9, 10, 11])
  }

  @Test("norm-clip noise_std adds N(0, noise_std^2) to the aggregate (seed 2)")
  func weakDP() throws {
    let rows = [[Float](repeating: 0, count: 10_000), [Float](repeating: 0, count: 10_000)]
    var chain = DefenseChain([NormClip(maxNorm: 1, noiseStd: 0.3), Mean()])
    let result = try chain.run(
      UpdateSet(rows: rows), round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(2))
    let variance = result.aggregate.reduce(0.0) { $0 + Double($1) * Double($1) } / 10_000
    #expect(isClose(variance.squareRoot(), 0.3, rtol: 0.03))
    var quiet = DefenseChain([NormClip(maxNorm: 1), Mean()])
    #expect(
      try quiet.run(
        UpdateSet(rows: rows), round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(2)
      ).aggregate.allSatisfy { $0 == 0 })
  }
}

@Suite("FoolsGold")
struct FoolsGoldTests {
  @Test("two identical sybils get weight 0, the distinct client 1 (hand-computed)")
  func golden() throws {
    // cs01 = 1, cs02 = cs12 = 0 -> v = [1, 1, 0]; w = 1 - max cs = [0, 0, 1] -> 0.99 ->
    // logit 5.09 -> 1.
    #expect(FoolsGold.weights(similarities: [[1, 1, 0], [1, 1, 0], [0, 0, 1]]) == [0, 0, 1])
    var rule = FoolsGold()
    let context = DefenseContext(round: 1, clients: [10, 11, 12])
    let (agg, outcome) = try rule.aggregate(
      UpdateSet(rows: [[1, 0], [1, 0], [0, 1]]), context: context)
    #expect(agg == [0, 1])
    #expect(outcome.flagged == [0, 1])
  }

  /// By `Tests/PoisonLabTests/Defenses/foolsgold_reference.py` (the official code's steps in
  /// NumPy).
  @Test("updates are scaled to norm at most 1; the aggregate is their weighted sum, not a mean")
  func normalisedSum() throws {
    var rule = FoolsGold()
    let context = DefenseContext(round: 1, clients: [0, 1, 2, 3])
    // Clients 0 and 1 are sybils (norms 5 and 2); client 2's norm 0.5 stays.
    _ = try rule.aggregate(
      UpdateSet(rows: [[3, 4, 0], [1.2, 1.6, 0], [0, 0.3, 0.4], [0, 0, 3]]), context: context)
    var second = context
    second.round = 2
    let (agg, outcome) = try rule.aggregate(
      UpdateSet(rows: [[6, 8, 0], [0.6, 0.8, 0], [0.3, 0, 0.4], [2, 2, 1]]), context: second)
    #expect(outcome.flagged == [0, 1])
    #expect(outcome.scores == [0, 0, 1, 1], "\(outcome.scores ?? [])")
    // (0.3, 0, 0.4) + (2, 2, 1) / 3: a mean would halve it, raw updates give (2.3, 2, 1.4).
    #expect(
      allClose(agg, [0.966_666_667, 0.666_666_667, 0.733_333_333], rtol: 1e-6), "\(agg)")
    // combine "mean": the same normalised updates over the weights' sum, 2.
    let text =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 20}, "defense": {"name": "foolsgold", "combine": "mean"}}"#
    var averaging = try #require(try scenario(text).defenses.first?.defense as? FoolsGold)
    #expect(averaging.averages)
    _ = try averaging.aggregate(
      UpdateSet(rows: [[3, 4, 0], [1.2, 1.6, 0], [0, 0.3, 0.4], [0, 0, 3]]), context: context)
    let (mean, _) = try averaging.aggregate(
      UpdateSet(rows: [[6, 8, 0], [0.6, 0.8, 0], [0.3, 0, 0.4], [2, 2, 1]]), context: second)
    #expect(
      allClose(mean, [0.483_333_333, 0.333_333_333, 0.366_666_667], rtol: 1e-6), "\(mean)")
  }

  @Test("histories accumulate by client id across rounds")
  func history() throws {
    var rule = FoolsGold()
    // Round 1: clients 1 and 2 look alike; round 2 they diverge but their histories stay close.
    _ = try rule.aggregate(
      UpdateSet(rows: [[1, 0, 0], [1, 0, 0], [0, 0, 1]]),
      context: DefenseContext(round: 1, clients: [1, 2, 3]))
    let (_, second) = try rule.aggregate(
      UpdateSet(rows: [[0.2, 0.1, 0], [0.2, -0.1, 0], [0, 1, 0.2]]),
      context: DefenseContext(round: 2, clients: [1, 2, 3]))
    let w = try #require(second.scores)
    #expect(w[0] < 0.2 && w[1] < 0.2 && w[2] == 1)
  }

  @Test("behaviour: identical sign-flip updates are flagged in a federation")
  func behaviour() throws {
    let out = try federated([
      #"attack={"name": "sign-flip", "clients": 3}"#, "defense.name=foolsgold",
    ])
    #expect(out.allSatisfy { $0.detectionRecall == 1 })
    #expect(try #require(out.last).accuracy > 0.75)
  }
}

@Suite("FLTrust")
struct FLTrustTests {
  @Test("trust = ReLU(cos) with the server update; updates rescaled to its norm (hand-computed)")
  func golden() throws {
    // g0 = (1, 1): cos = 0.7071, 0.7071, -0.7071 -> TS = [0.7071, 0.7071, 0]; rescaled to |g0| =
    // sqrt 2: (sqrt 2, 0) and (0, sqrt 2); the TS-weighted mean is (0.7071, 0.7071).
    var rule = FLTrust()
    let context = DefenseContext(round: 1, serverUpdate: [1, 1])
    let (agg, outcome) = try rule.aggregate(
      UpdateSet(rows: [[1, 0], [0, 2], [-1, 0]]), context: context)
    #expect(allClose(agg, [0.707_106_78, 0.707_106_78], rtol: 1e-5))
    #expect(outcome.flagged == [2])
    #expect(
      outcome.scores.map {
        allClose($0.map(Float.init), [0.707_106_78, 0.707_106_78, 0], rtol: 1e-5, atol: 1e-6)
      } == true)
    // Every update opposed to the server's: a zero update, all flagged.
    let opposed = try rule.aggregate(UpdateSet(rows: [[-1, -1], [-2, 0]]), context: context)
    #expect(opposed.aggregate == [0, 0] && opposed.outcome.flagged == [0, 1])
    #expect(throws: DefenseError.self) {
      try rule.aggregate(UpdateSet(rows: [[1, 0]]), context: DefenseContext(round: 1))
    }
  }

  @Test("behaviour: the server's root data exposes sign-flipped updates")
  func behaviour() throws {
    let out = try federated([
      #"attack={"name": "sign-flip", "clients": 3, "scale": 3}"#,
      #"defense={"name": "fltrust", "root_size": 200}"#,
    ])
    #expect(out.allSatisfy { $0.detectionRecall == 1 })
    #expect(try #require(out.last).accuracy > 0.75)
    #expect(
      scenarioErrors(fedBase + "}", overrides: [#"defense={"name": "fltrust", "root_size": 0}"#])
        .count == 1)
  }
}

@Suite("Spectral signatures")
struct SpectralSignaturesTests {
  @Test("a minority cluster scores highest along the top singular vector and is removed (seed 12)")
  func golden() throws {
    // Class 0: 20 clean points near the origin and 4 poisoned near (3, 3);
    // class 1: 10 clean points.
    var rng = SplitMix64(seed: 12)
    var rows: [Float] = []
    var labels: [Int32] = []
    for _ in 0..<20 {
      rows += [Float(rng.nextGaussian() * 0.1), Float(rng.nextGaussian() * 0.1)]
      labels.append(0)
    }
    for _ in 0..<4 {
      rows += [3 + Float(rng.nextGaussian() * 0.01), 3 + Float(rng.nextGaussian() * 0.01)]
      labels.append(0)
    }
    for _ in 0..<10 {
      rows += [Float(rng.nextGaussian()), Float(rng.nextGaussian())]
      labels.append(1)
    }
    // Centred, clean points project to about -0.71 and poisoned ones to about 3.54:
    // scores 0.5 vs 12.5.
    let scores = try SpectralSignatures.scores(Array(rows.prefix(48)), rows: 24, width: 2)
    #expect(scores[20..<24].allSatisfy { $0 > 10 } && scores[0..<20].allSatisfy { $0 < 1.5 })
    let removed = try SpectralSignatures(expectedFraction: 1.0 / 6, multiplier: 1)
      .suspects(representations: rows, width: 2, labels: labels, classes: 2)
    #expect(Array(removed.prefix(4)) == [20, 21, 22, 23])
    #expect(removed.count == 4 + 2)  // ceil(24 / 6) from class 0, ceil(10 / 6) from class 1
  }

  @Test(
    "spectral signatures removes exactly ceil(1.5 eps n) per class where binary rounding would add one (1.5 x 0.2 x 200 = 60.00000000000001)"
  )
  func spectralCountExact() throws {
    var rng = SplitMix64(seed: 13)
    let rows = (0..<(300 * 3)).map { _ in Float(rng.nextGaussian()) }
    let labels = (0..<300).map { Int32($0 < 200 ? 0 : 1) }
    let removed = try SpectralSignatures(expectedFraction: 0.2, multiplier: 1.5)
      .suspects(representations: rows, width: 3, labels: labels, classes: 2)
    #expect(removed.count == 60 + 30)
    let tenth = try SpectralSignatures(expectedFraction: 0.1, multiplier: 1.5)
      .suspects(representations: rows, width: 3, labels: labels, classes: 2)
    #expect(tenth.count == 30 + 15)  // 1.5 x 0.1 x 100 = 15.000000000000002
    // The counting rule itself.
    #expect(1.5 * 0.2 * 200 > 60 && Int(count: 1.5 * 0.2 * 200, rounding: .up) == 60)
    #expect(0.29 * 100 < 29 && Int(count: 0.29 * 100, rounding: .down) == 29)
    #expect(Int(count: 60.5, rounding: .up) == 61 && Int(count: 60.5, rounding: .down) == 60)
    #expect(0.145 * 100 < 14.5 && Int(count: 0.145 * 100, rounding: .toNearestOrAwayFromZero) == 15)
    #expect(Int(count: 1e-12, rounding: .up) == 1, "a tiny positive count still rounds up to 1")
    #expect(Int(count: 0, rounding: .up) == 0 && Int(count: .nan, rounding: .down) == 0)
  }

  @Test(
    "behaviour: rows report the removed samples with precision and recall; federated runs reject it"
  )
  func behaviour() throws {
    let base =
      #"{"name": "ss", "seed": 4, "dataset": {"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 600, "test_size": 150, "separation": 12}, "model": {"name": "mlp", "hidden": [16]}, "training": {"rounds": 3, "learning_rate": 0.05}, "attack": {"name": "backdoor", "fraction": 0.05, "target": 0, "trigger": {"size": 2, "value": 8}}, "defense": {"name": "spectral-signatures", "expected_fraction": 0.2}}"#
    let out = try records(base, threads: 1)
    let last = try #require(out.last)
    #expect(last.malicious == 30)
    // ceil(1.5 x 0.2 x n_c) per class; poisoning moves about 28 samples into class 0.
    #expect(abs(last.flagged - 180) <= 3)
    #expect(last.detectionPrecision != nil && last.detectionRecall != nil)
    #expect(last.totals?.flaggedTotal == last.flagged)
    #expect(
      scenarioErrors(fedBase + "}", overrides: [#"defense={"name": "spectral-signatures"}"#]) == [
        #"defense.name: "spectral-signatures" sanitizes centralized training data; remove the federation block or use an update defense"#
      ])
  }
}

@Suite("Activation clustering")
struct ActivationClusteringTests {
  @Test("2-means from the farthest points splits two groups (hand-computed)")
  func twoMeans() {
    // Mean (3.07, 0); farthest from it: (10, 0) (index 5); farthest from that: (-1, 0) (index 0).
    let points: [Float] = [-1, 0, 0, 0, 1, 0, 0.5, 0, 9, 0, 10, 0, 2, 0]
    let labels = ActivationClustering.twoMeans(points, rows: 7, width: 2)
    // Centres settle at (0.5, 0) and (9.5, 0); 2 is nearer 0.5.
    #expect(labels == [1, 1, 1, 1, 0, 0, 1])
  }

  @Test("the smaller cluster is removed only below size_limit (seed 13)")
  func sizeLimit() throws {
    // Class 0: 20 points near the origin and 5 near (4, 4) in 3-D; class 1: 10 spread points.
    var rng = SplitMix64(seed: 13)
    var rows: [Float] = []
    var labels: [Int32] = []
    for i in 0..<35 {
      let centre: Float = (20..<25).contains(i) ? 4 : 0
      let spread = i >= 25 ? 1.0 : 0.1
      rows += (0..<3).map { _ in centre + Float(rng.nextGaussian() * spread) }
      labels.append(i < 25 ? 0 : 1)
    }
    let removed = try ActivationClustering(components: 2, sizeLimit: 0.35)
      .suspects(representations: rows, width: 3, labels: labels, classes: 2)
    // 5 / 25 = 0.2 < 0.35 in class 0; class 1 is one blob whose 2-means halves are too large.
    #expect(Array(removed.prefix(5)) == [20, 21, 22, 23, 24])
    #expect(removed.allSatisfy { $0 >= 20 })
    let strict = try ActivationClustering(components: 2, sizeLimit: 0.15)
      .suspects(representations: rows, width: 3, labels: labels, classes: 2)
    #expect(strict.filter { $0 < 25 }.isEmpty)
  }

  @Test("behaviour: a small BadNets poison is removed and the retrained model resists (seed 4)")
  func behaviour() throws {
    let base =
      #"{"name": "ac", "seed": 4, "dataset": {"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 600, "test_size": 150, "separation": 12}, "model": {"name": "mlp", "hidden": [16]}, "training": {"rounds": 3, "learning_rate": 0.05}, "attack": {"name": "backdoor", "fraction": 0.05, "target": 0, "trigger": {"size": 2, "value": 8}}, "defense": {"name": "activation-clustering"}}"#
    let last = try #require(try records(base, threads: 1).last)
    #expect(last.malicious == 30)
    #expect(try #require(last.detectionRecall) > 0.9)
    let undefended = try #require(
      try records(base, threads: 1, overrides: [#"defense=[]"#]).last)
    #expect(try #require(undefended.attackSuccess) > 0.8)
    #expect(try #require(last.attackSuccess) < 0.2)
    #expect(
      scenarioErrors(fedBase + "}", overrides: [#"defense={"name": "activation-clustering"}"#])
        .count == 1)
  }
}
