import Foundation
import PoisonLab
import Testing

let smoke =
  #"{"name": "d", "seed": 21, "dataset": {"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 300, "test_size": 1500, "separation": 12}, "model": {"name": "cnn", "channels": [3], "kernel": 3, "dense": [8]}, "training": {"rounds": 3, "batch_size": 8, "momentum": 0.5}, "attack": {"name": "backdoor", "fraction": 0.1, "trigger": {"size": 2, "value": 5}}}"#

/// The records of a run, with timings zeroed.
func records(_ text: String, threads: Int, overrides: [String] = []) throws -> [MetricRecord] {
  var out: [MetricRecord] = []
  try Experiment(scenario: try scenario(text, overrides: overrides), threads: threads).run {
    record in
    var r = record
    r.seconds = 0
    if r.totals != nil {
      r.totals?.totalSeconds = 0
      r.totals?.meanSecondsPerRound = 0
    }
    out.append(r)
  }
  return out
}

@Suite("Experiment")
struct ExperimentTests {
  @Test("same scenario and seed give identical records for 1, 2 and 3 threads, run after run")
  func determinism() throws {
    let one = try records(smoke, threads: 1)
    #expect(one.count == 4)
    #expect(try records(smoke, threads: 2) == one)
    #expect(try records(smoke, threads: 3) == one)
    #expect(try records(smoke, threads: 1) == one)
    #expect(try records(smoke, threads: 1, overrides: ["seed=22"]) != one)
  }

  @Test("evaluation every N rounds, and always on the last")
  func evaluationSchedule() throws {
    let rounds = try records(
      smoke, threads: 1, overrides: ["training.rounds=5", "evaluation.every=2"]
    ).map(\.round)
    #expect(rounds == [2, 4, 5, 5])
  }

  @Test("divergence stops the run naming the round; earlier rows were emitted")
  func divergence() throws {
    var emitted: [MetricRecord] = []
    let s = try scenario(smoke, overrides: ["training.learning_rate=1e30"])
    do {
      try Experiment(scenario: s, threads: 1).run { emitted.append($0) }
      Issue.record("a learning rate of 1e30 did not diverge")
    } catch {
      guard case .diverged(let round, let detail) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(round == 1)
      #expect(detail.contains("lower training.learning_rate (now 1e+30)"))
      #expect(error.exitCode == 3)
    }
    #expect(emitted.isEmpty)
  }

  @Test("asking for more samples than exist is a scenario error (exit code 2)")
  func subsampleTooLarge() throws {
    let s = try scenario(
      minimalFashion(),
      overrides: ["dataset.name=synthetic", "dataset.train_size=10", "dataset.test_size=5"])
    #expect(try s.dataset.load(seeds: SeedTree(0)).train.count == 10)
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("d.csv", text: "1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n")
    let csv = try scenario(
      #"{"name": "c", "dataset": {"name": "csv", "train": "\#(file)", "test": "\#(file)", "train_size": 50}, "model": {"name": "logistic"}, "attack": {"name": "label-flip", "source": 0, "target": 4}}"#
    )
    do {
      _ = try Experiment(scenario: csv, threads: 1).prepareData()
      Issue.record("accepted train_size 50 for 6 rows")
    } catch {
      #expect(error.exitCode == 2)
      #expect(
        error.description == """
          c: invalid scenario (2 problems)
            dataset.train_size: asks for 50 samples but the data has 6
            attack.target: class 4 does not exist: the dataset has 2 classes (0...1)
          """)
    }
  }

  @Test("expect: misses are listed on the summary")
  func expectations() throws {
    let out = try records(
      smoke, threads: 1,
      overrides: [
        #"expect={"accuracy": {"min": 1.01}, "loss": {"max": 100}, "detection_recall": {"min": 0}}"#
      ])
    let summary = try #require(out.last?.totals)
    #expect(summary.expectPassed == false)
    #expect(summary.expectMisses.count == 2)
    #expect(summary.expectMisses[0].hasPrefix("accuracy = "))
    #expect(
      summary.expectMisses[1]
        == "detection_recall is null (not measured in this run), expected >= 0")
  }

  func minimalFashion() -> String {
    #"{"name": "m", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}}"#
  }
}

@Suite("Experiment options")
struct ExperimentOptionTests {
  @Test("an option the scenario cannot use is refused by the library, not ignored")
  func ignoredOptionsAreRefused() throws {
    var centralized = Experiment(scenario: try scenario(smoke), threads: 1)
    centralized.updateExport = "/tmp/never-written"
    centralized.auditDirectory = "/tmp/never-written"
    #expect(
      centralized.optionProblems == [
        "--save-updates writes the updates a federated server receives; this scenario is centralized",
        "--audit-dir holds the audit's pictures; the scenario has no audit block",
      ])
    var emitted = 0
    #expect(throws: RunFailure.self) { try centralized.run { _ in emitted += 1 } }
    #expect(emitted == 0)
    #expect(Experiment(scenario: try scenario(smoke), threads: 1).optionProblems.isEmpty)
    let strip = try scenario(smoke, overrides: [#"audit={"name": "strip"}"#])
    var audited = Experiment(scenario: strip, threads: 1)
    audited.auditDirectory = "/tmp/never-written"
    #expect(audited.optionProblems.isEmpty)
  }
}
