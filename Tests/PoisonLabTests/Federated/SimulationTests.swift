import PoisonLab
import Testing

/// A small synthetic federation: 10 clients, 4 classes, MLP, 4 rounds.
let federation =
  #"{"name": "sim", "seed": 5, "dataset": {"name": "synthetic", "classes": 4, "features": 12, "train_size": 1200, "test_size": 400, "separation": 8}, "model": {"name": "mlp", "hidden": [16]}, "training": {"rounds": 4, "batch_size": 16, "learning_rate": 0.05}, "federation": {"clients": 10}}"#

func federated(_ overrides: [String], threads: Int = 1) throws -> [MetricRecord] {
  try records(federation, threads: threads, overrides: overrides)
}

@Suite("Federated simulation")
struct SimulationTests {
  @Test("behaviour: a gaussian attack ruins fedavg but not median or trimmed-mean")
  func gaussianVersusRobust() throws {
    let attack = #"attack={"name": "gaussian", "clients": 2, "std": 20}"#
    let clean = try #require(try federated([]).last)
    #expect(clean.accuracy > 0.8)
    let fedavg = try #require(try federated([attack, "defense.name=fedavg"]).last)
    #expect(fedavg.accuracy < 0.6)
    for rule in ["median", "trimmed-mean"] {
      let robust = try #require(try federated([attack, "defense.name=\(rule)"]).last)
      #expect(robust.accuracy > 0.75, "\(rule)")
      #expect(robust.malicious == 2)
    }
  }

  @Test("detection: multi-krum flags exactly the obvious outliers (precision and recall 1)")
  func detection() throws {
    let rounds = try federated([
      #"attack={"name": "gaussian", "clients": 3, "std": 50}"#, "defense.name=multi-krum",
    ])
    for r in rounds {
      #expect(r.malicious == 3)
      #expect(r.flagged == 3)
      #expect(r.detectionPrecision == 1)
      #expect(r.detectionRecall == 1)
    }
    #expect(rounds.last?.totals?.maliciousTotal == 12)
    #expect(rounds.last?.totals?.flaggedTotal == 12)
  }

  @Test("NaN updates: fedavg diverges (exit 3, naming the round); median rejects and flags them")
  func nonFinite() throws {
    do {
      _ = try federated([#"attack={"name": "nan", "clients": 1}"#, "defense.name=fedavg"])
      Issue.record("fedavg survived NaN updates")
    } catch let failure as RunFailure {
      guard case .diverged(let round, _) = failure else {
        Issue.record("unexpected \(failure)")
        return
      }
      #expect(round == 1)
      #expect(failure.exitCode == 3)
    }
    for rule in ["median", "krum"] {
      let robust = try federated([
        #"attack={"name": "nan", "clients": 2, "value": "inf"}"#, "defense.name=\(rule)",
      ])
      #expect(robust.last.map { $0.accuracy > 0.75 } == true, "\(rule)")
      #expect(robust.allSatisfy { $0.detectionRecall == 1 }, "\(rule)")
    }
  }

  @Test("identical records for 1, 2 and 3 threads (partition, sampling, defense randomness)")
  func determinism() throws {
    let overrides = [
      #"federation={"clients": 12, "clients_per_round": 7, "partition": {"name": "dirichlet", "alpha": 0.5}}"#,
      #"attack=[{"name": "alie", "clients": 2}, {"name": "label-flip", "client_ids": [5, 6], "source": 1, "target": 2, "poison_fraction": 1}]"#,
      #"defense=[{"name": "bucketing", "size": 2}, {"name": "trimmed-mean", "f": 1}]"#,
    ]
    let one = try federated(overrides, threads: 1)
    #expect(try federated(overrides, threads: 2) == one)
    #expect(try federated(overrides, threads: 3) == one)
    #expect(one.allSatisfy { $0.attackSuccess != nil })
  }

  @Test("schedules: start/end/every and scheduled participation")
  func schedules() throws {
    let windowed = try federated([
      #"attack={"name": "sign-flip", "clients": 2, "start_round": 2, "end_round": 3}"#,
      "defense.name=median",
    ])
    #expect(windowed.prefix(4).map(\.malicious) == [0, 2, 2, 0])
    let sparse = try federated([
      #"federation={"clients": 10, "clients_per_round": 3}"#,
      #"attack={"name": "sign-flip", "client_ids": [8, 9], "every": 2, "participation": "scheduled"}"#,
      "defense.name=median",
    ])
    #expect(sparse.prefix(4).map(\.malicious) == [2, 0, 2, 0])
  }

  @Test("federated data poisoning: a scaled backdoor is measured on triggered test inputs")
  func backdoor() throws {
    let out = try federated([
      #"dataset={"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 1200, "test_size": 300, "separation": 12}"#,
      #"attack={"name": "backdoor", "clients": 2, "target": 0, "poison_fraction": 0.8, "scale": 3, "trigger": {"size": 2, "value": 6}}"#,
    ])
    let last = try #require(out.last)
    #expect(try #require(last.attackSuccess) > 0.5)
    #expect(last.robustAccuracy != nil)
    #expect(last.malicious == 2)
  }

  @Test("the attackers' own local_epochs and learning_rate are used")
  func attackerSchedule() throws {
    let data =
      #"dataset={"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 1200, "test_size": 300, "separation": 12}"#
    func attack(_ extra: String) -> String {
      #"attack={"name": "backdoor", "clients": 2, "target": 0, "poison_fraction": 0.8, "scale": 3, "trigger": {"size": 2, "value": 6}"#
        + extra + "}"
    }
    let base = try federated([data, attack("")])
    // A vanishing learning rate: the attackers send (almost) zero updates, no backdoor.
    let frozen = try #require(try federated([data, attack(#", "learning_rate": 1e-9"#)]).last)
    #expect(try #require(frozen.attackSuccess) < 0.3)
    let longer = try federated([data, attack(#", "local_epochs": 3"#)])
    #expect(longer.map(\.loss) != base.map(\.loss))
    #expect(longer.map(\.accuracy) != base.map(\.accuracy))
  }

  @Test("a rule that cannot run at run time fails with the round and counts (exit 3)")
  func runtimePrecondition() throws {
    do {
      _ = try federated([
        #"federation={"clients": 10, "clients_per_round": 2}"#,
        #"defense=[{"name": "anomaly"}, {"name": "fedavg"}]"#,
      ])
      Issue.record("anomaly ran on 2 updates")
    } catch let failure as RunFailure {
      #expect(failure.exitCode == 3)
      #expect(
        failure.description == "round 1: defense anomaly: needs at least 3 updates, received 2")
    }
  }
}

@Suite("Federated scenario errors (messages pinned)")
struct FederatedScenarioTests {
  @Test("who attacks, chain order and preconditions")
  func errors() {
    #expect(
      scenarioErrors(fedBase + #", "attack": {"name": "gaussian"}}"#) == [
        "attack.clients: missing: say who attacks with clients (a count) or client_ids"
      ])
    #expect(
      scenarioErrors(
        fedBase
          + #", "attack": [{"name": "gaussian", "clients": 2}, {"name": "ipm", "client_ids": [1, 4]}]}"#
      ) == [
        "attack[1]: client 1 is already an attacker in attack[0]; attack groups must not overlap"
      ])
    #expect(
      scenarioErrors(fedBase + #", "attack": {"name": "gaussian", "client_ids": [3, 12]}}"#) == [
        "attack.client_ids: client id 12 does not exist (clients are 0...9)"
      ])
    #expect(
      scenarioErrors(
        fedBase + #", "attack": {"name": "gaussian", "clients": 4}, "defense": {"name": "krum"}}"#)
        == [
          "defense.f: krum needs n > 2f + 2, but n = 10 clients per round and f = 4; lower f or raise clients_per_round"
        ])
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "attack": {"name": "gaussian"}}"#
      ) == [
        #"attack.name: "gaussian" crafts client updates and needs a federation block (centralized runs take label-flip or backdoor)"#
      ])
    #expect(
      scenarioErrors(fedBase + #", "attack": {"name": "backdoor", "clients": 1, "fraction": 0.2}}"#)
        == [
          "attack.fraction: applies to centralized runs only (this scenario has a federation block)"
        ])
    #expect(
      scenarioErrors(
        fedBase + #", "attack": {"name": "gaussian", "clients": 1, "start_round": 99}}"#) == [
          "attack.start_round: must be at most the last round 10, got 99; the attack would never run"
        ])
    #expect(
      scenarioErrors(
        fedBase + "}", overrides: [#"federation={"clients": 3, "clients_per_round": 5}"#]) == [
          "federation.clients_per_round: must be at most the 3 clients, got 5"
        ])
    #expect(
      scenarioErrors(
        fedBase + "}", overrides: [#"defense=[{"name": "median"}, {"name": "norm-clip"}]"#]) == [
          #"defense[0].name: "median" is an aggregator and must be the last element of the defense array"#,
          #"defense[1].name: "norm-clip" transforms updates and cannot end the chain; add an aggregator after it (fedavg, mean, median, trimmed-mean, krum, multi-krum, bulyan, geometric-median, centered-clipping, dnc, foolsgold, fltrust, flame)"#,
        ])
  }

  @Test("resolved federated scenario fills f and the default partition and defense")
  func resolved() throws {
    let s = try scenario(
      fedBase + #", "attack": {"name": "ipm", "clients": 2}, "defense": {"name": "trimmed-mean"}}"#)
    #expect(s.resolved["defense"]?["f"] == .number(2))
    #expect(s.resolved["federation"]?["partition"]?["name"] == .string("iid"))
    #expect(s.resolved["federation"]?["clients_per_round"] == .number(10))
    let plain = try scenario(fedBase + "}")
    #expect(plain.resolved["defense"]?["name"] == .string("fedavg"))
    #expect(plain.resolved["training"]?["local_epochs"] == .number(1))
  }
}
