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
    // A later divergence keeps the rows before it: NaN updates averaged by
    // fedavg from round 3 on.
    let federated = try ScenarioLoader.load(
      file: CLI.root.path + "/scenarios/regression/smoke-federated.json",
      overrides: [
        #"attack={"name": "nan", "clients": 2, "start_round": 3}"#, #"defense={"name": "fedavg"}"#,
        "federation.clients_per_round=12", "expect=null",
      ])
    var rows: [MetricRecord] = []
    do {
      try Experiment(scenario: federated, threads: 1).run { rows.append($0) }
      Issue.record("NaN updates under fedavg did not stop the run")
    } catch {
      guard case .diverged(let round, _) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(round == 3)
    }
    #expect(rows.map(\.round) == [1, 2] && rows.allSatisfy { $0.kind == .round })
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

@Suite("SweepRunner (sweep's library side)")
struct SweepRunnerTests {
  @Test("--shard K/N: parsing and the index rule")
  func shards() {
    #expect(SweepShard(parsing: "2/3") == SweepShard(k: 2, n: 3))
    for bad in ["0/2", "3/2", "1/0", "a/b", "1", "1/2/3", ""] {
      #expect(SweepShard(parsing: bad) == nil, "\(bad)")
    }
    let shards = (1...3).map { SweepShard(k: $0, n: 3) }
    for index in 0..<10 { #expect(shards.filter { $0.contains(index) }.count == 1) }
    #expect(shards[1].contains(4) && !shards[1].contains(3))
    #expect((0..<5).allSatisfy(SweepShard.whole.contains))
  }

  @Test("runs are written in expansion order whatever --jobs; duplicates run once (seed 21)")
  func ordered() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write(
      "s.json",
      text: String(smoke.dropLast())
        + #", "sweep": {"training.learning_rate": [0.1, 0.05]}}"#)
    let plan = try SweepPlan.expand(
      file: file, grids: [], seeds: [1, 1, 2], overrides: ["training.rounds=1"])
    #expect(plan.runs.count == 6 && plan.distinctRuns.count == 4)
    let budget = MemoryBudget(bytes: 1 << 40, source: "the test")
    let runs = SweepPlan.preflight(plan.distinctRuns, threads: 1, budget: budget)
    func sweep(jobs: Int) -> [String] {
      let lines = Box()
      let outcome = SweepRunner(runs: runs, jobs: jobs, threads: 1, budget: budget).run(
        sink: { text in lines.text += text })
      #expect(outcome.failures == 0 && outcome.writeError == nil)
      return lines.text.split(separator: "\n").map { line in
        // Timings differ between runs; the rest is the record.
        String(line).replacing(/"(total_)?seconds": [0-9.e-]+/, with: "")
          .replacing(/"mean_seconds_per_round": [0-9.e-]+/, with: "")
      }
    }
    let one = sweep(jobs: 1)
    #expect(one == sweep(jobs: 2))
    let indices = one.compactMap { line in
      line.firstMatch(of: /"run_index": ([0-9]+)/).flatMap { Int($0.1) }
    }
    #expect(indices == indices.sorted() && Set(indices).count == 4)
    #expect(SweepPlan.expectedRows(runs).values.allSatisfy { $0 == [1] })
  }
}

/// Text collected from the sweep's sink (one writer at a time: the runner's lock).
private final class Box: @unchecked Sendable {
  var text = ""
}
