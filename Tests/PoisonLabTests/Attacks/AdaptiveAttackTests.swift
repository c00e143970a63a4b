import Synchronization
import Testing

@testable import PoisonLab

@Suite("Defense-aware attacks")
struct AdaptiveAttackTests {
  /// Hand-traced, and by `Tests/PoisonLabTests/Attacks/line_search_reference.py`.
  @Test("ByzFL's search: -(x - 2.5)^2 ends at 4.096, -(x - 35)^2 at 38.388608, 20 evaluations")
  func lineMaximize() {
    // 0, then 10 loses: delta 8; 8, 6.4, 5.12 lose, 4.096 gains; every later
    // probe is 4.096 + 3.2768 * 0.8^k and loses.
    var calls = 0
    let best = LineMaximize.search { x in
      calls += 1
      return -(x - 2.5) * (x - 2.5)
    }
    #expect(calls == 20)
    #expect(abs(best - 4.096) < 1e-12)
    // 0, 10 and 30 gain (delta 10, 20, 40), 70 loses (delta 32); the
    // contraction from 30 finds 30 + 8.388608.
    #expect(abs(LineMaximize.search { -($0 - 35) * ($0 - 35) } - 38.388_608) < 1e-9)
    // A decreasing objective keeps the start.
    #expect(LineMaximize.search { -$0 } == 0)
  }

  /// A view of 8 benign updates (seed 21) whose defense is `rule`.
  func view(_ rule: any Aggregator, attackers: Int = 3) -> AttackView {
    let rows = (0..<8).map { gaussian(40, seed: UInt64(21 + $0), scale: 0.2) }
    let benign = UpdateSet(rows: rows)
    var view = AttackView(benign: benign, attackers: attackers, received: 8 + attackers)
    let chain = DefenseChain([rule])
    view.defenseSelects = chain.selectsRows
    view.defense = { malicious in
      var trial = chain
      let set = UpdateSet(
        values: benign.values + malicious, count: 8 + attackers, dimension: 40)
      guard
        let result = try? trial.run(
          set, round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(1))
      else { return nil }
      return ProbeOutcome(
        aggregate: result.aggregate,
        attackersKept: (8..<(8 + attackers)).filter { !result.flagged[$0] }.count,
        kept: result.flagged.filter { !$0 }.count, rows: 8 + attackers)
    }
    return view
  }

  @Test("AGR-tailored min-max against krum and multi-krum: the malicious update is selected")
  func tailoredSelection() throws {
    // The official our_attack_mkrum test: success when the rule keeps the
    // attackers' rows. A first proposal of gamma = 50 is far outside the
    // benign cloud and rejected; the search had kept it.
    for (rule, defense) in [
      (MultiKrum(f: 3) as any Aggregator, #"{"name": "multi-krum", "f": 3}"#),
      (Krum(f: 3), #"{"name": "krum", "f": 3}"#), (Bulyan(f: 1), #"{"name": "bulyan", "f": 1}"#),
    ] {
      let attackers = rule is Bulyan ? 2 : 3
      let v = view(rule, attackers: attackers)
      let mean = v.benignMoments().mean
      let aware = try scenarioAttack(
        #"{"name": "min-max", "clients": \#(attackers), "aggregator_aware": true, "gamma": 50}"#,
        defense: defense)
      var rng = SplitMix64(seed: 0)
      let crafted = Array(aware.craft(v, rng: &rng).prefix(40))
      #expect(aware.selected(crafted, view: v), "\(type(of: rule)): not selected")
      // Judged independently of the attack's own test: the rule itself, on
      // the 8 benign rows and the attackers' copies, keeps an attacker row.
      var alone = rule
      let rows = (0..<8).map { gaussian(40, seed: UInt64(21 + $0), scale: 0.2) }
      let (_, outcome) = try alone.aggregate(
        UpdateSet(rows: rows + Array(repeating: crafted, count: attackers)),
        context: DefenseContext(round: 1))
      #expect(
        (8..<(8 + attackers)).contains { !outcome.flagged.contains($0) },
        "\(type(of: rule)) flagged every attacker row: \(outcome.flagged)")
      // A real deviation from the mean, not the mean itself.
      let moved = zip(crafted, mean).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
      #expect(moved > 1e-6, "\(type(of: rule)): \(moved)")
      // And the agnostic attack at gamma 50's first proposal is rejected.
      let length = Float(norm(mean))
      let far = mean.map { $0 - 50 * $0 / length }
      #expect(!aware.selected(far, view: v), "\(type(of: rule))")
    }
  }

  /// The Euclidean norm.
  func norm(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }

  /// By `Tests/PoisonLabTests/Attacks/optimal_alie_reference.py` (ByzFL's definition in NumPy).
  @Test("optimize is ByzFL's Optimal_ALittleIsEnough: mu + tau x sample std; golden tau 10")
  func optimalALIEGolden() throws {
    let benign = UpdateSet(rows: [[1, 2, 3], [4, 5, 6], [7, 8, 9], [2, 0, 5]])
    var v = AttackView(benign: benign, attackers: 1, received: 5)
    let chain = DefenseChain([TrimmedMean(f: 1)])
    v.defense = { malicious in
      var trial = chain
      let set = UpdateSet(values: benign.values + malicious, count: 5, dimension: 3)
      guard
        let result = try? trial.run(
          set, round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(1))
      else { return nil }
      return ProbeOutcome(aggregate: result.aggregate, attackersKept: 0, kept: 0, rows: 5)
    }
    let attack = try scenarioAttack(#"{"name": "alie", "clients": 1, "optimize": true}"#)
    var rng = SplitMix64(seed: 0)
    let crafted = attack.craft(v, rng: &rng)
    #expect(allClose(crafted, [29.957_513, 38.75, 30.75], rtol: 1e-6), "\(crafted)")
  }

  @Test("optimized ALIE deviates the real rule at least as much as every fixed tau of a grid")
  func optimizedALIE() throws {
    for rule in [TrimmedMean(f: 3) as any Aggregator, CoordinateMedian()] {
      let v = view(rule)
      let (mean, population) = v.benignMoments()
      // ByzFL's fixed ALIE(tau): mu + tau x the sample std (8 rows).
      let std = population.map { $0 * Float((8.0 / 7.0).squareRoot()) }
      let optimized = try scenarioAttack(#"{"name": "alie", "clients": 3, "optimize": true}"#)
      var rng = SplitMix64(seed: 0)
      let crafted = Array(optimized.craft(v, rng: &rng).prefix(40))
      let best = optimized.deviation(of: crafted, view: v, mean: mean)
      for tau in [0.5, 1, 1.5, 2, 3] {
        let fixed = zip(mean, std).map { $0 + Float(tau) * $1 }
        #expect(best >= optimized.deviation(of: fixed, view: v, mean: mean) - 1e-9, "tau \(tau)")
      }
      #expect(best > 0)
    }
  }

  @Test(
    "the tailored search starts where the official code does: 3 against selecting rules, 5 against others; gamma overrides"
  )
  func tailoredStart() throws {
    for (rule, defense, start, block) in [
      (TrimmedMean(f: 3) as any Aggregator, #"{"name": "trimmed-mean", "f": 3}"#, 5.0, ""),
      (MultiKrum(f: 3), #"{"name": "multi-krum", "f": 3}"#, 3.0, ""),
      (TrimmedMean(f: 3), #"{"name": "trimmed-mean", "f": 3}"#, 50.0, #", "gamma": 50"#),
    ] {
      var v = view(rule)
      let probe = try #require(v.defense)
      // The scales of the proposals, in order (the direction is a unit vector).
      let scales = Mutex<[Double]>([])
      let mean = v.benignMoments().mean
      v.defense = { candidate in
        let moved = zip(Array(candidate.prefix(40)), mean).reduce(0.0) {
          $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1))
        }
        scales.withLock { $0.append(moved.squareRoot()) }
        return probe(candidate)
      }
      let aware = try scenarioAttack(
        #"{"name": "min-max", "clients": 3, "aggregator_aware": true\#(block)}"#, defense: defense)
      var rng = SplitMix64(seed: 0)
      _ = aware.craft(v, rng: &rng)
      let seen = scales.withLock { $0 }
      #expect(isClose(seen.first ?? 0, start, rtol: 1e-4), "\(type(of: rule)): \(seen.prefix(3))")
      // A halving search from s never proposes 2 s or more.
      #expect(seen.allSatisfy { $0 < 2 * start * 1.0001 }, "\(seen)")
    }
  }

  @Test("AGR-tailored min-max deviates the real rule at least as much as the agnostic one")
  func tailoredMinMax() throws {
    let v = view(TrimmedMean(f: 3))
    let mean = v.benignMoments().mean
    let trimmed = #"{"name": "trimmed-mean", "f": 3}"#
    let aware = try scenarioAttack(
      #"{"name": "min-max", "clients": 3, "aggregator_aware": true}"#, defense: trimmed)
    let agnostic = try scenarioAttack(#"{"name": "min-max", "clients": 3}"#, defense: trimmed)
    var r1 = SplitMix64(seed: 0)
    var r2 = SplitMix64(seed: 0)
    let a = aware.deviation(of: Array(aware.craft(v, rng: &r1).prefix(40)), view: v, mean: mean)
    let b = agnostic.deviation(
      of: Array(agnostic.craft(v, rng: &r2).prefix(40)), view: v, mean: mean)
    #expect(a > b, "the tailored search found no larger deviation: \(a) vs \(b)")
    #expect(aware.knowsDefense && !agnostic.knowsDefense)
  }

  @Test(
    "the resolved scenario holds the search's start: 50 agnostic, 3 against a selecting chain, 5 otherwise"
  )
  func resolvedStart() throws {
    let cases: [(String, String, Double)] = [
      (#"{"name": "min-max", "clients": 2}"#, #"{"name": "krum", "f": 2}"#, 50),
      (
        #"{"name": "min-sum", "clients": 2, "aggregator_aware": true}"#,
        #"{"name": "krum", "f": 2}"#, 3
      ),
      (
        #"{"name": "min-max", "clients": 2, "aggregator_aware": true}"#,
        #"[{"name": "norm-clip"}, {"name": "multi-krum", "f": 2}]"#, 3
      ),
      (#"{"name": "min-max", "clients": 2, "aggregator_aware": true}"#, #"{"name": "median"}"#, 5),
      (
        #"{"name": "min-max", "clients": 2, "aggregator_aware": true, "gamma": 7}"#,
        #"{"name": "median"}"#, 7
      ),
    ]
    for (block, defense, start) in cases {
      let text =
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 20}, "attack": \#(block), "defense": \#(defense)}"#
      let loaded = try scenario(text)
      let attack = try #require(loaded.resolved["attack"])
      #expect(attack["gamma"] == .number(start), "\(block) against \(defense)")
      // In its place among the keys, and kept when the resolved scenario is loaded again.
      if case .object(let members) = attack {
        #expect(Array(members.map(\.key).prefix(3)) == ["name", "perturbation", "gamma"])
      }
      let again = try ScenarioLoader.decode(
        loaded.resolved.serialized(), source: "resolved", baseDirectory: ".")
      #expect(again.resolved == loaded.resolved)
    }
  }

  /// An update attack built from a scenario block, against `defense`.
  func scenarioAttack(_ block: String, defense: String = #"{"name": "fedavg"}"#) throws
    -> any UpdateAttack
  {
    let text =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 20}, "attack": \#(block), "defense": \#(defense)}"#
    return try #require(try scenario(text).attacks.first?.attack as? any UpdateAttack)
  }

  @Test("a searched factor cannot also be fixed; sybils cannot know the defense")
  func validation() {
    let base =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 20}}"#
    #expect(
      scenarioErrors(
        base, overrides: [#"attack={"name": "alie", "clients": 2, "optimize": true, "z": 1}"#])
        == ["attack.z: is searched each round when optimize is true; remove one"])
    #expect(
      scenarioErrors(
        base, overrides: [#"attack={"name": "ipm", "clients": 2, "optimize": true, "epsilon": 1}"#])
        == ["attack.epsilon: is searched each round when optimize is true; remove one"])
    #expect(
      scenarioErrors(
        base,
        overrides: [
          "channel.enrolment=open",
          #"attack={"name": "sybil", "update": {"name": "alie", "optimize": true}}"#,
        ]
      ).first?.hasPrefix("attack.update: sybil identities craft in transit") == true)
    #expect(
      scenarioErrors(
        base, overrides: ["federation=null", #"attack={"name": "alie", "optimize": true}"#]
      )
      .first?.contains("federation") == true)
  }
}

@Suite("Gaussian attack: one vector each, or shared (ByzFL)")
struct GaussianSharedTests {
  @Test(
    "shared: every attacker sends the first d draws; default: attacker k sends draws k d ..< (k + 1) d (seed 5)"
  )
  func shared() throws {
    let base =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 20}}"#
    let view = AttackView(
      benign: UpdateSet(rows: [[0, 0, 0, 0]]), attackers: 3, received: 4)
    var draws = SplitMix64(seed: 5)
    let expected = (0..<12).map { _ in Float(draws.nextGaussian() * 2) }
    for (shared, rows) in [
      (true, Array(repeating: Array(expected.prefix(4)), count: 3).flatMap { $0 }),
      (false, expected),
    ] {
      let attack = try #require(
        try scenario(
          base,
          overrides: [#"attack={"name": "gaussian", "clients": 3, "std": 2, "shared": \#(shared)}"#]
        )
        .attacks.first?.attack as? any UpdateAttack)
      var rng = SplitMix64(seed: 5)
      #expect(attack.craft(view, rng: &rng) == rows, "shared \(shared)")
    }
  }
}
