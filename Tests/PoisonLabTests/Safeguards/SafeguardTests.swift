import Foundation
import Testing

@testable import PoisonLab

@Suite("Safeguards: hand-computed and reference goldens")
struct SafeguardGoldenTests {
  @Test(
    "L-BFGS Hessian-vector product equals FLDetector's formula in NumPy (Fixtures/lbfgs_reference.py)"
  )
  func lbfgsGolden() throws {
    let s: [[Float]] = [[1, 0, 0.5, 1.5], [0.5, 2, -1, 0.25], [-0.25, 1, 0.75, 0]]
    let y: [[Float]] = [[2, 0.25, 1, 2.5], [0.75, 3, -1.25, 0.5], [-0.5, 1.5, 1, 0.25]]
    let hv = try #require(LBFGS.hessianProduct(s: s, y: y, v: [0.3, -0.2, 0.7, 1.1]))
    let expected = [0.7133016540142731, -0.17046434362547425, 1.16505300950539, 1.798190884577341]
    for (a, b) in zip(hv, expected) { #expect(isClose(Double(a), b, rtol: 1e-5, atol: 1e-6)) }
    // The secant equation holds for the newest pair: H s_N = y_N.
    let secant = try #require(LBFGS.hessianProduct(s: s, y: y, v: s[2]))
    #expect(allClose(secant, y[2], rtol: 1e-4, atol: 1e-5))
    // sigma I when all pairs say so.
    let scaled = try #require(
      LBFGS.hessianProduct(
        s: [[1, 0, 0], [0, 1, 1]], y: [[3, 0, 0], [0, 3, 3]], v: [1, 2, -1]))
    #expect(allClose(scaled, [3, 6, -3], rtol: 1e-5))
    #expect(LBFGS.hessianProduct(s: [[0, 0]], y: [[1, 1]], v: [1, 1]) == nil)
  }

  @Test(
    "cosine signal: (1,0), (0,1), (1,1), (-1,0) have cosine spread 0.6436487 by hand; (-1,0) is suspected; a NaN row is left out"
  )
  func cosineGolden() throws {
    let nan = Float.nan
    let updates = UpdateSet(
      values: [1, 0, 0, 1, 1, 1, nan, 0, -1, 0], count: 5, dimension: 2, weights: nil)
    var signal = CosineSignal(window: 3)
    let reading = signal.observe(
      MonitorRound(
        round: 1, updates: updates, ids: [10, 11, 12, 14, 13], global: [0, 0],
        validationAccuracy: nil, classAccuracy: nil, sourceLosses: nil, seeds: SeedTree(0),
        threads: 1))
    guard case .scored(let values, let suspects)? = reading else {
      Issue.record("no reading")
      return
    }
    // Pairwise cosines 0, 1/sqrt 2, -1, 1/sqrt 2, 0, -1/sqrt 2: population std.
    #expect(values.count == 1 && values[0].name == "cosine_spread" && values[0].upward)
    #expect(isClose(values[0].value, 0.6436487474282222, rtol: 1e-6))
    // Mean cosines -0.098, 0.236, 0.236, -0.569: none beyond -3.5 robust
    // z (d's is -2.58), so the lowest is suspected.
    #expect(suspects == [13])
    #expect(
      signal.observe(
        MonitorRound(
          round: 2, updates: UpdateSet(values: [1, 0, 0, 1], count: 2, dimension: 2, weights: nil),
          ids: [1, 2], global: [0, 0], validationAccuracy: nil, classAccuracy: nil,
          sourceLosses: nil, seeds: SeedTree(0), threads: 1)) == nil)
  }

  @Test("exact 1-D k-means: [1, 2, 10, 11] in 2 groups costs 1; brute force agrees (seed 5)")
  func kmeans() {
    let fit = KMeans1D.fit([10, 1, 11, 2], k: 2)
    #expect(fit.sse == 1 && fit.labels == [1, 0, 1, 0] && fit.centers == [1.5, 10.5])
    #expect(KMeans1D.fit([4, 4, 4], k: 3).sse == 0)
    var rng = SplitMix64(seed: 5)
    for trial in 0..<40 {
      let n = 2 + trial % 7
      let values = (0..<n).map { _ in rng.nextGaussian() }
      for k in 1...min(3, n) {
        #expect(
          abs(KMeans1D.fit(values, k: k).sse - bruteForce(values, k)) < 1e-9,
          "trial \(trial) k \(k)")
      }
    }
  }

  /// The best k-means cost over every split of the sorted values into k runs.
  func bruteForce(_ values: [Double], _ k: Int) -> Double {
    let x = values.sorted()
    func cost(_ part: ArraySlice<Double>) -> Double {
      let mean = part.reduce(0, +) / Double(part.count)
      return part.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    }
    func best(_ start: Int, _ groups: Int) -> Double {
      if groups == 1 { return cost(x[start...]) }
      var b = Double.infinity
      for cut in (start + 1)...(x.count - groups + 1) where cut < x.count {
        b = min(b, cost(x[start..<cut]) + best(cut, groups - 1))
      }
      return b
    }
    return best(0, k)
  }

  @Test(
    "gap statistic: two separated groups give k > 1; evenly spread or equal values give 1 (seed 7)")
  func gap() {
    var rng = SplitMix64(seed: 7)
    let clustered =
      (0..<16).map { _ in 0.05 + 0.001 * rng.nextGaussian() } + [0.2, 0.21, 0.2, 0.19]
    var r1 = SplitMix64(seed: 7)
    #expect(KMeans1D.gapStatistic(clustered, rng: &r1) > 1)
    var r2 = SplitMix64(seed: 7)
    #expect(KMeans1D.gapStatistic((0..<20).map { Double($0) }, rng: &r2) == 1)
    var r3 = SplitMix64(seed: 7)
    #expect(KMeans1D.gapStatistic([0.3, 0.3, 0.3], rng: &r3) == 1)
  }

  @Test("robust z: (10 - 3) / (1.4826 x 1); MAD 0: mean deviation x 1.2533; constant history 0")
  func robustZ() {
    #expect(
      isClose(SignalMonitor.robustZ(10, against: [1, 2, 3, 4, 100]) ?? 0, 7 / 1.4826, rtol: 1e-12))
    #expect(SignalMonitor.robustZ(3, against: [1, 2, 3, 4, 100]) == 0)
    #expect(SignalMonitor.robustZ(5, against: [1, 2]) == nil)
    // [2, 2, 2, 3]: median 2, MAD 0, mean absolute deviation 0.25.
    #expect(
      isClose(
        SignalMonitor.robustZ(5, against: [2, 2, 2, 3]) ?? 0, 3 / (1.253314 * 0.25), rtol: 1e-12))
    #expect(SignalMonitor.robustZ(5, against: [2, 2, 2]) == 0)
  }

  @Test(
    "gate attribution: each update applied alone; W = -I fails, a bias shift fails only per class"
  )
  func attribution() {
    // Softmax regression on 2 features: W = I classifies all four samples.
    let network = Network(layers: [Dense(inputs: 2, outputs: 2)])
    let data = Dataset(
      features: [1, 0, 0, 1, 2, 0, 0, 2], labels: [0, 1, 0, 1], shape: Shape(features: 2),
      classes: 2, isImage: false)
    let initial: [Float] = [1, 0, 0, 1, 0, 0]
    let updates = UpdateSet(rows: [
      [0, 0, 0, 0, 0, 0],  // id 10: the same model
      [-4, 0, 0, -4, 0, 0],  // id 11: W = I + 0.5 (-4 I) = -I, accuracy 0
      [0, 0, 0, 0, 0, 5],  // id 12: b = [0, 2.5], class 0 all wrong, accuracy 0.5
    ])
    let evaluators = [Evaluator(network: network)]
    let gate = ValidationGate(
      settings: .init(size: 4, maxDrop: 0.5, perClassMaxDrop: nil, attribute: true), data: data,
      initial: initial, evaluators: evaluators)
    #expect(gate.accuracy == 1)
    // Accuracy 0.5 is exactly max_drop below 1: id 12 passes the overall test.
    #expect(
      gate.attribute(
        updates: updates, ids: [10, 11, 12], global: initial, rate: 0.5, evaluators: evaluators)
        == [11])
    let perClass = ValidationGate(
      settings: .init(size: 4, maxDrop: 0.5, perClassMaxDrop: 0.2, attribute: true), data: data,
      initial: initial, evaluators: evaluators)
    #expect(
      perClass.attribute(
        updates: updates, ids: [10, 11, 12], global: initial, rate: 0.5, evaluators: evaluators)
        == [11, 12])
  }

  @Test("quarantine: 2 flags within the last 3 participations")
  func quarantine() {
    var q = Quarantine(settings: .init(after: 2, window: 3))
    q.record(participants: [1, 2], flagged: [1, 2])
    q.record(participants: [1, 2], flagged: [])
    q.record(participants: [2], flagged: [])
    #expect(q.clients.isEmpty)
    q.record(participants: [1, 2], flagged: [1, 2])
    // Client 1: T F T -> 2 of 3; client 2: F F T (its first flag left the window).
    #expect(q.clients == [1])
    q.add([7])
    #expect(q.clients == [1, 7])
  }

  @Test(
    "quarantine's distance ratio: accepted [0, 1, -1] (mean 0), received distances' median 1; 10 counts, 1.5 not, NaN does"
  )
  func distanceRatio() {
    let updates = UpdateSet(rows: [[0], [1], [-1], [10], [1.5]])
    let ids = [0, 1, 2, 3, 4]
    let strict = Quarantine(settings: .init(after: 1, window: 1, minDistanceRatio: 2))
    #expect(strict.strikes(flagged: [3, 4], updates: updates, ids: ids) == [3])
    // Ratio 1.5: a distance of exactly 1.5 counts.
    let loose = Quarantine(settings: .init(after: 1, window: 1, minDistanceRatio: 1.5))
    #expect(loose.strikes(flagged: [3, 4], updates: updates, ids: ids) == [3, 4])
    // Without the ratio every flag counts, as when nothing was accepted.
    let plain = Quarantine(settings: .init(after: 1, window: 1))
    #expect(plain.strikes(flagged: [3, 4], updates: updates, ids: ids) == [3, 4])
    #expect(strict.strikes(flagged: Set(ids), updates: updates, ids: ids) == Set(ids))
    // A non-finite update is a strike; the median skips its distance.
    let poisoned = UpdateSet(rows: [[0], [1], [-1], [.nan], [1.5]])
    #expect(strict.strikes(flagged: [3, 4], updates: poisoned, ids: ids) == [3])
    // Krum accepts one update (distance 0 to itself): the median of every
    // received update's distance still gives the scale.
    #expect(strict.strikes(flagged: [1, 2, 3, 4], updates: updates, ids: ids) == [3])
  }
}

/// A synthetic federation for behaviour tests (seconds).
let safeguardBase =
  #"{"name": "sg", "seed": 3, "dataset": {"name": "synthetic", "classes": 4, "features": 16, "train_size": 1600, "test_size": 400, "separation": 6}, "model": {"name": "mlp", "hidden": [24]}, "training": {"rounds": 12, "batch_size": 16, "learning_rate": 0.05}, "federation": {"clients": 10}}"#

@Suite("Safeguards end to end", .serialized)
struct SafeguardBehaviourTests {
  func run(_ overrides: [String], threads: Int = 2) throws -> [MetricRecord] {
    try records(safeguardBase, threads: threads, overrides: overrides)
  }

  @Test("the gate rejects the attacked rounds and keeps accuracy near the clean run's")
  func gate() throws {
    let gate = #"safeguards={"validation": {"size": 200, "max_drop": 0.02}}"#
    let attack =
      #"attack={"name": "scaling", "clients": 2, "factor": -10, "start_round": 4, "every": 2}"#
    let clean = try #require(try run([gate]).last)
    let attacked = try run([gate, attack])
    // Only attacked rounds (4, 6, ..., 12) may be rejected, and some are.
    let rejected = attacked.filter { $0.kind == .round && $0.safeguards?.gate == "rejected" }.map(
      \.round)
    #expect(!rejected.isEmpty && rejected.allSatisfy { $0 >= 4 && $0 % 2 == 0 })
    #expect(attacked.filter { $0.kind == .round }.allSatisfy { $0.safeguards?.gate != nil })
    // A rejected round leaves the model as it was: the previous round's accuracy and loss.
    for round in rejected {
      let before = attacked.first { $0.kind == .round && $0.round == round - 1 }
      let now = attacked.first { $0.kind == .round && $0.round == round }
      #expect(before?.accuracy == now?.accuracy && before?.loss == now?.loss, "round \(round)")
    }
    // No accepted round lowers validation accuracy by more than max_drop.
    var last: Double?
    for r in attacked where r.kind == .round && r.safeguards?.gate == "accepted" {
      let a = try #require(r.safeguards?.validationAccuracy)
      if let last { #expect(a >= last - 0.02 - 1e-12, "round \(r.round)") }
      last = a
    }
    let summary = try #require(attacked.last)
    #expect(summary.totals?.safeguards?.rejectedRounds == rejected.count)
    #expect(abs(summary.accuracy - clean.accuracy) <= 0.03)
    let unguarded = try #require(try run([attack]).last)
    #expect(unguarded.accuracy < summary.accuracy - 0.2)
    #expect(unguarded.safeguards == nil && unguarded.totals?.safeguards == nil)
  }

  @Test(
    "the attributing gate flags the attackers of a rejected round and the quarantine ends the attack"
  )
  func attributingGate() throws {
    let attack = #"attack={"name": "scaling", "clients": 2, "factor": -10}"#
    let plain = #"safeguards={"validation": {"size": 200, "max_drop": 0.02}}"#
    let attributing =
      #"safeguards={"validation": {"size": 200, "max_drop": 0.02, "attribute": true}, "quarantine": {"after": 1, "window": 1}}"#
    let clean = try #require(try run([attributing]).last)
    let out = try run([attributing, attack])
    let rounds = out.filter { $0.kind == .round }
    // Every rejected round names exactly attackers (clients 0 and 1).
    #expect(rounds.contains { $0.safeguards?.gate == "rejected" }, "the loop below runs")
    for r in rounds where r.safeguards?.gate == "rejected" {
      #expect(!(r.flaggedClients ?? []).isEmpty, "round \(r.round)")
      #expect(Set(r.flaggedClients ?? []).isSubset(of: [0, 1]), "round \(r.round)")
      #expect(r.detectionPrecision == 1)
    }
    let summary = try #require(out.last)
    #expect(summary.safeguards?.quarantined == 2 && summary.safeguards?.falseQuarantined == 0)
    #expect(abs(summary.accuracy - clean.accuracy) <= 0.03)
    #expect(clean.safeguards?.falseQuarantined == 0)
    // Without attribution the gate rejects the attacked rounds but cannot end them.
    let stuck = try run([plain, attack])
    let rejected = stuck.filter { $0.kind == .round && $0.safeguards?.gate == "rejected" }
    #expect(rejected.count > rounds.filter { $0.safeguards?.gate == "rejected" }.count)
    #expect(try #require(stuck.last).accuracy < summary.accuracy - 0.1)
  }

  @Test("multi-krum's exclusions: with min_distance_ratio only the far attackers are quarantined")
  func quarantineRatio() throws {
    let chain = #"defense={"name": "multi-krum", "f": 2}"#
    let attack = #"attack={"name": "sign-flip", "clients": 2, "scale": 3}"#
    let plain = #"safeguards={"quarantine": {"after": 3, "window": 5}}"#
    let ratio = #"safeguards={"quarantine": {"after": 3, "window": 5, "min_distance_ratio": 2}}"#
    // Without an attack multi-krum still leaves 2 updates out every round.
    let cleanPlain = try #require(try run([chain, plain]).last)
    let cleanRatio = try #require(try run([chain, ratio]).last)
    #expect(cleanRatio.safeguards?.quarantined == 0)
    #expect((cleanPlain.safeguards?.falseQuarantined ?? 0) > 0)
    let attacked = try #require(try run([chain, ratio, attack]).last)
    #expect(attacked.safeguards?.quarantined == 2 && attacked.safeguards?.falseQuarantined == 0)
  }

  @Test(
    "sign-flipped updates from round 7 raise a cosine alarm in round 7 naming the two attackers (seed 1)"
  )
  func cosineAlarm() throws {
    let out = try run([
      "seed=1", #"attack={"name": "sign-flip", "clients": 2, "start_round": 7}"#,
      #"safeguards={"monitor": {"signals": ["cosine"], "window": 4}}"#,
    ])
    let alarms = out.filter { $0.kind == .alarm }
    #expect(alarms.first?.round == 7, "\(alarms.map(\.round))")
    #expect(alarms.first?.alarm?.signal == "cosine_spread")
    #expect(alarms.first?.alarm?.suspected == [0, 1])
    #expect((alarms.first?.alarm?.score ?? 0) > 100)
  }

  @Test("a single boosted update raises an update_norm alarm; rollback restores and quarantines")
  func rollback() throws {
    let attack =
      #"attack={"name": "scaling", "clients": 1, "factor": 40, "start_round": 7, "end_round": 7}"#
    let watch =
      #"safeguards={"monitor": {"signals": ["update_norm"], "window": 5}, "response": {"name": "rollback"}}"#
    let out = try run([attack, watch])
    let alarms = out.filter { $0.kind == .alarm }
    #expect(alarms.first?.round == 7 && alarms.first?.alarm?.suspected == [0])
    #expect(alarms.first?.alarm?.signal == "update_norm_max")
    let summary = try #require(out.last)
    let g = try #require(summary.totals?.safeguards)
    #expect(
      g.firstAlarmRound == 7 && g.timeToDetect == 0 && g.rollbacks == 1 && g.recoveryRounds == 1)
    #expect(g.falseAlarms == 0)
    #expect(summary.safeguards?.quarantined == 1 && summary.safeguards?.falseQuarantined == 0)
    // Round 7's model is the one saved before it: the same accuracy as round 6.
    let r6 = out.first { $0.kind == .round && $0.round == 6 }
    let r7 = out.first { $0.kind == .round && $0.round == 7 }
    #expect(r6?.accuracy == r7?.accuracy && r6?.loss == r7?.loss)
    let unwatched = try #require(try run([attack]).last)
    #expect(summary.accuracy >= unwatched.accuracy)
  }

  @Test("every safeguard at once is deterministic for 1 and 2 threads")
  func deterministic() throws {
    let all =
      #"safeguards={"validation": {"size": 200, "per_class_max_drop": 0.1}, "monitor": {"signals": ["update_norm", "cosine", "validation_accuracy", "fldetector"], "window": 4}, "quarantine": {"after": 2, "window": 3}, "response": {"name": "rollback"}}"#
    let attack = #"attack={"name": "alie", "clients": 2, "start_round": 5}"#
    let one = try run([all, attack], threads: 1)
    #expect(try run([all, attack], threads: 2) == one)
    #expect(one.contains { $0.kind == .alarm })
    let retrain = #"safeguards.response.name=retrain"#
    #expect(
      try run([all, attack, retrain], threads: 1) == (try run([all, attack, retrain], threads: 2)))
  }

  @Test("invalid safeguards name the path and what is missing")
  func validation() {
    #expect(
      scenarioErrors(safeguardBase, overrides: [#"safeguards={"response": {"name": "rollback"}}"#])
        == [
          "safeguards.response: responds to alarms, which only a monitor raises; add safeguards.monitor"
        ])
    #expect(
      scenarioErrors(
        safeguardBase, overrides: [#"safeguards={"monitor": {"signals": ["validation_accuracy"]}}"#]
      ).first?.hasPrefix("safeguards.monitor.signals: validation_accuracy needs the held-out set")
        == true)
    #expect(
      scenarioErrors(
        safeguardBase,
        overrides: [
          #"safeguards={"quarantine": {"after": 4, "window": 3}}"#, "defense.name=median",
        ]
      )
      .first?.hasPrefix("safeguards.quarantine.after: must be at most window (3)") == true)
    #expect(
      scenarioErrors(
        safeguardBase, overrides: [#"safeguards={"monitor": {"signals": ["update_norms"]}}"#]
      ).first
        == #"safeguards.monitor.signals[0]: unknown value "update_norms"; did you mean "update_norm"? (allowed: update_norm, cosine, validation_accuracy, class_accuracy, new_data_loss, fldetector)"#
    )
    #expect(
      scenarioErrors(
        safeguardBase, overrides: ["federation=null", #"safeguards={"quarantine": {}}"#]
      )
      .first?.hasPrefix(
        "safeguards: safeguards act across the rounds of a federated run or the cycles of a pipeline"
      ) == true)
    #expect(
      scenarioErrors(
        safeguardBase, overrides: [#"safeguards={"monitor": {"signals": ["new_data_loss"]}}"#]
      )
      .first?.contains("new_data_loss watches the data each pipeline cycle brings") == true)
  }

  @Test("alarm records carry signal, value, score, threshold and suspects in every format")
  func alarmRecords() throws {
    let attack =
      #"attack={"name": "scaling", "clients": 1, "factor": 40, "start_round": 7, "end_round": 7}"#
    let watch = #"safeguards={"monitor": {"window": 5}}"#
    let alarm = try #require(try run([attack, watch]).first { $0.kind == .alarm })
    #expect(
      alarm.fields.map(\.key) == [
        "type", "scenario", "round", "signal", "value", "score", "threshold", "suspected",
      ])
    for name in Formats.names where name != "table" {
      let format = try #require(Formats.named(name))
      let text = format.begin() + format.line(for: alarm, index: 0) + format.end(count: 1)
      #expect(text.contains("update_norm_max"), "\(name)")
    }
    let table = TableFormat().line(for: alarm, index: 0)
    #expect(table.hasPrefix("  ! alarm in round 7: update_norm_max"))
  }
}

@Suite("Safeguards: review regressions", .serialized)
struct SafeguardReviewTests {
  let smoke = "scenarios/regression/smoke-federated.json"

  func text() throws -> String {
    try String(contentsOfFile: CLI.root.path + "/" + smoke, encoding: .utf8)
  }

  func summary(_ overrides: [String]) throws -> MetricRecord {
    try #require(try records(text(), threads: 2, overrides: overrides + ["expect=null"]).last)
  }

  @Test("a quarantined sybil does not crash the count of honest clients quarantined")
  func sybilQuarantine() throws {
    let s = try summary([
      #"channel={"enrolment": "open"}"#,
      #"attack={"name": "sybil", "identities": 1, "start_round": 3, "update": {"name": "ipm", "epsilon": 30}}"#,
      #"defense={"name": "mean"}"#,
      #"safeguards={"monitor": {"window": 3}, "response": {"name": "rollback"}}"#,
    ])
    #expect(s.safeguards?.falseQuarantined == 0)
  }

  @Test("a strike that quarantines a suspect this round does not silence the response")
  func freshBeforeStrikes() throws {
    let base = [
      "training.rounds=12",
      #"safeguards={"monitor": {"signals": ["update_norm", "cosine"], "window": 3, "threshold": 0.0001}, "response": {"name": "rollback"}}"#,
    ]
    let without = try summary(base)
    let with = try summary(base + [#"safeguards.quarantine={"after": 1, "window": 1}"#])
    #expect(with.totals?.safeguards?.rollbacks == without.totals?.safeguards?.rollbacks)
  }

  @Test("after a rollback the monitor still watches the next round")
  func watchesAfterRollback() throws {
    let out = try records(
      text(), threads: 1,
      overrides: [
        "expect=null", "training.rounds=9", #"defense={"name": "mean"}"#,
        #"attack=[{"name": "scaling", "client_ids": [0], "factor": -30, "start_round": 6, "end_round": 6, "participation": "scheduled"}, {"name": "scaling", "client_ids": [5], "factor": -30, "start_round": 7, "end_round": 7, "participation": "scheduled"}]"#,
        #"safeguards={"monitor": {"signals": ["update_norm"], "window": 4}, "response": {"name": "rollback"}}"#,
      ])
    let alarmRounds = Set(out.filter { $0.kind == .alarm }.map(\.round))
    #expect(alarmRounds.contains(6) && alarmRounds.contains(7))
  }

  @Test("per-update signals, quarantine and small rounds are refused where they cannot work")
  func refusals() throws {
    let secure = #"channel.secure_aggregation={"name": "pairwise-masking"}"#
    let errors = scenarioErrors(
      try text(),
      overrides: [
        secure, #"defense={"name": "fedavg"}"#, "attack=null",
        #"safeguards={"monitor": {"signals": ["update_norm", "validation_accuracy"]}, "validation": {"size": 50}, "quarantine": {}}"#,
      ])
    #expect(
      errors.contains {
        $0.hasPrefix("safeguards.monitor.signals: update_norm reads each client's update")
      })
    #expect(errors.contains { $0.hasPrefix("safeguards.quarantine: nothing can flag a client") })
    #expect(
      scenarioErrors(
        try text(),
        overrides: [
          secure, #"defense={"name": "fedavg"}"#, "attack=null",
          #"safeguards={"validation": {"size": 50, "attribute": true}}"#,
        ]
      ).contains {
        $0.hasPrefix("safeguards.validation.attribute: tests each client's update alone")
      })
    #expect(
      scenarioErrors(
        try text(),
        overrides: [
          "federation.clients_per_round=2", #"safeguards={"monitor": {"signals": ["cosine"]}}"#,
        ]
      ).contains { $0.contains("cosine compares the clients of a round and needs at least 3") })
  }
}

@Suite("FLDetector's model history")
struct FLDetectorHistoryTests {
  @Test("a round that left the model where it was (gate rejected) stores no s = 0 pair")
  func unchangedModelStoresNoPair() {
    var detector = FLDetector(window: 3)
    detector.commit(global: [0, 0], aggregate: [1, 1])
    detector.commit(global: [1, 1], aggregate: [0.5, 0.5])
    #expect(detector.s == [[1, 1]] && detector.y == [[-0.5, -0.5]])
    // The next round starts from the same model: no pair; its aggregate is
    // the newer estimate there.
    detector.commit(global: [1, 1], aggregate: [0.4, 0.6])
    #expect(detector.s.count == 1)
    detector.commit(global: [1.5, 1.5], aggregate: [0.3, 0.3])
    #expect(detector.s == [[1, 1], [0.5, 0.5]])
    #expect(detector.y.count == 2 && isClose(Double(detector.y[1][1]), -0.3, rtol: 1e-6))
  }
}
