import Testing

@testable import PoisonLab

@Suite("Down-weighted updates")
struct DownweightTests {
  @Test("clipping rules: the rows above the bound (hand-computed)")
  func clipping() throws {
    // Norms 10, 1, 0.5 against the bound 1: row 0 is scaled to (1, 0).
    let rows: [[Float]] = [[10, 0], [0, 1], [0, 0.5]]
    for stage in [NormClip(maxNorm: 1) as any UpdateFilter, DPFedAvg(clip: 1, noiseMultiplier: 0)] {
      var filter = stage
      var set = UpdateSet(rows: rows)
      let outcome = try filter.filter(&set, context: DefenseContext(round: 1))
      #expect(outcome.downweighted == [0] && outcome.flagged.isEmpty, "\(type(of: stage))")
      #expect(set.row(0) == [1, 0] && set.row(1) == [0, 1])
    }
    // Centered clipping from v = 0, tau 1, one iteration: |(3, 0)| = 3 is
    // clipped (factor 1/3), |(0, 0.5)| is not; v = ((1, 0) + (0, 0.5)) / 2.
    let (centre, clipped) = try aggregate(
      CenteredClipping(tau: 1, iterations: 1), [[3, 0], [0, 0.5]])
    #expect(allClose(centre, [0.5, 0.25]))
    #expect(clipped.downweighted == [0])
  }

  @Test("flame: admitted rows above the median norm; fltrust: trust below 1 or scaled down")
  func weighting() throws {
    // One direction, norms about 1, 2, 3, 1.5 and 2.5: one cluster, the
    // median is row 1's, rows 2 and 4 are clipped to it.
    let cluster: [[Float]] = [[1, 0.1], [2, 0.2], [3, 0.3], [1.5, 0.15], [2.5, 0.25]]
    let (_, flame) = try aggregate(Flame(noiseLambda: 0), cluster)
    #expect(flame.flagged.isEmpty && flame.downweighted == [2, 4], "\(flame)")
    // g0 = (1, 1), |g0| = sqrt 2: (1, 0) has trust 0.707; (2, 2) trust 1
    // but norm 2.83, scaled down; (0.5, 0.5) trust 1, scaled up; (-1, 0) trust 0.
    var trust = FLTrust()
    let (_, outcome) = try trust.aggregate(
      UpdateSet(rows: [[1, 0], [2, 2], [0.5, 0.5], [-1, 0]]),
      context: DefenseContext(round: 1, serverUpdate: [1, 1]))
    #expect(outcome.flagged == [3] && outcome.downweighted == [0, 1], "\(outcome)")
  }

  @Test("foolsgold: weights strictly between 0 and 1")
  func foolsGold() throws {
    // The pardoning golden's weights (foolsgold_reference.py): 1, 0.670, 0.670, 0, 0.
    var rule = FoolsGold()
    let (_, outcome) = try rule.aggregate(
      UpdateSet(rows: [
        [-1, -1, 0], [0.9, 0.3, 1], [0.9, -0.8, 0.2], [0, 0.5, -0.9], [0.3, 0.2, -0.3],
      ]),
      context: DefenseContext(round: 1, clients: Array(0..<5)))
    #expect(outcome.flagged == [3, 4] && outcome.downweighted == [1, 2], "\(outcome)")
  }

  @Test("the chain: a row clipped by one stage and rejected by a later one counts as flagged only")
  func chain() throws {
    let rows: [[Float]] = [[10, 0], [0.1, 0], [0.2, 0], [0.15, 0], [0.12, 0]]
    var averaged = DefenseChain([NormClip(maxNorm: 1), Mean()])
    let kept = try averaged.run(
      UpdateSet(rows: rows), round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(1))
    #expect(kept.downweighted == [true, false, false, false, false])
    var selecting = DefenseChain([NormClip(maxNorm: 1), Krum(f: 1)])
    let chosen = try selecting.run(
      UpdateSet(rows: rows), round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(1))
    #expect(chosen.flagged[0] && !chosen.downweighted[0])
    #expect(chosen.downweighted == [false, false, false, false, false])
  }

  @Test(
    "behaviour: norm-clip names the boosted attackers every round; null under secure aggregation")
  func records() throws {
    let boosted = [
      #"attack={"name": "scaling", "clients": 2, "factor": 10}"#,
      #"defense=[{"name": "norm-clip", "max_norm": "median"}, {"name": "fedavg"}]"#,
    ]
    let out = try federated(boosted)
    let rounds = out.filter { $0.kind == .round }
    #expect(rounds.count == 4)
    for record in rounds {
      let ids = try #require(record.downweightedClients)
      // The two attackers (clients 0 and 1) and honest updates above the median norm.
      #expect(ids.contains(0) && ids.contains(1), "round \(record.round): \(ids)")
      #expect(record.flagged == 0 && ids.count <= 5, "\(ids)")
      #expect(record.metric("downweighted") == Double(ids.count))
    }
    // report --metrics takes every numeric field these records hold (round is the index).
    for record in out {
      for field in record.fields {
        if case .number = field.value, field.key != "round" {
          #expect(Report.selectableMetrics.contains(field.key), "\(field.key)")
        }
      }
    }
    let summary = try #require(out.last)
    #expect(
      summary.totals?.downweightedTotal
        == rounds.reduce(0) { $0 + ($1.downweightedClients?.count ?? 0) })
    // fedavg alone down-weights nothing; secure aggregation hides every update.
    #expect(
      try federated([]).filter { $0.kind == .round }.allSatisfy { $0.downweightedClients == [] })
    let secure = try federated([#"channel.secure_aggregation={"name": "pairwise-masking"}"#])
    #expect(secure.allSatisfy { $0.downweightedClients == nil })
    #expect(secure.last?.totals?.downweightedTotal == nil)
  }
}
