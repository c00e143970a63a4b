import Foundation
import Testing

@testable import PoisonLab

/// Each case the adversarial review of the update channel found
/// (2026-12-02, session 19) stays fixed.
@Suite("Reliability: the update channel and the defense chain", .serialized)
struct ChannelReviewTests {
  /// A small federated scenario on synthetic data with `extra` top-level keys.
  func federated(_ extra: String, rounds: Int = 2, learningRate: Double = 0.05) -> String {
    #"{"name": "c", "seed": 0, "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 400, "test_size": 100}, "model": {"name": "logistic"}, "training": {"rounds": \#(rounds), "batch_size": 16, "learning_rate": \#(learningRate)}, \#(extra)}"#
  }

  /// The round records of a run.
  func rounds(_ text: String, threads: Int = 1) throws -> [MetricRecord] {
    var out: [MetricRecord] = []
    try Experiment(scenario: try scenario(text), threads: threads).run { record in
      if record.kind == .round { out.append(record) }
    }
    return out
  }

  @Test("a forgery authentication rejects counts against krum's f, so the run goes on (exit 0)")
  func channelRejectionsLowerF() throws {
    // 5 selected, f = 1: krum needs n > 4; the impersonator's forgery is
    // rejected, leaving 4 updates and no Byzantine one among them.
    let text = federated(
      #""federation": {"clients": 8, "clients_per_round": 5}, "channel": {"authentication": "ed25519"}, "attack": {"name": "impersonate", "clients": 1, "participation": "scheduled", "update": {"name": "sign-flip"}}, "defense": {"name": "krum", "f": 1}"#
    )
    let rows = try rounds(text)
    #expect(rows.count == 2)
    #expect(rows.allSatisfy { $0.channel?.rejectedSignature == 1 })
    // Tampering with one honest message: the same.
    let tamper = federated(
      #""federation": {"clients": 8, "clients_per_round": 5}, "channel": {"authentication": "ed25519"}, "attack": {"name": "tamper", "messages": 1}, "defense": {"name": "krum", "f": 1}"#
    )
    #expect(try rounds(tamper).count == 2)
    // Without authentication the forgery is accepted: 5 updates, f = 1, fine too.
    #expect(
      try rounds(text.replacingOccurrences(of: #""ed25519""#, with: #""none""#)).count == 2)
  }

  @Test("the lower f goes into the export, and aggregate reproduces the round from it")
  func exportCarriesChannelRejections() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write(
      "s.json",
      text: federated(
        #""federation": {"clients": 8, "clients_per_round": 5}, "channel": {"authentication": "ed25519"}, "attack": {"name": "tamper", "messages": 1}, "defense": {"name": "krum", "f": 1}"#,
        rounds: 1))
    try FileManager.default.createDirectory(
      atPath: dir.path + "/up", withIntermediateDirectories: false)
    let run = try CLI.run(["run", file, "--quiet", "--save-updates", dir.path + "/up"])
    #expect(run.status == 0, "\(run.stderr)")
    let sidecar = try UpdateExport.sidecar(of: dir.path + "/up/round-0001.npy")
    #expect(sidecar?.rejectedByChannel == 1 && sidecar?.clients.count == 4)
    let out = dir.path + "/agg.npy"
    let aggregate = try CLI.run([
      "aggregate", dir.path + "/up/round-0001.npy", "--defense", #"{"name": "krum", "f": 1}"#,
      "--output", out, "--format", "json",
    ])
    #expect(aggregate.status == 0, "\(aggregate.stderr)")
    let mine = try MatrixFile.read(out).values
    let simulator = try MatrixFile.read(dir.path + "/up/round-0001.aggregate.npy").values
    #expect(mine.map(\.bitPattern) == simulator.map(\.bitPattern))
  }

  @Test(
    "tamper that changes only bits (0 negated to -0) is a malicious message, not an honest drop")
  func tamperComparesBits() throws {
    // A learning rate of 1e-10 leaves float32 updates of exactly 0.
    let text = federated(
      #""federation": {"clients": 6}, "channel": {"authentication": "ed25519"}, "attack": {"name": "tamper", "messages": 2, "transform": "sign-flip"}, "defense": {"name": "fedavg"}"#,
      rounds: 1, learningRate: 1e-10)
    let row = try #require(try rounds(text).first)
    #expect(row.malicious == 2 && row.flagged == 2)
    #expect(row.channel?.honestDropped == 0 && row.detectionPrecision == 1)
  }

  @Test("updates that all report 0 samples leave the model unchanged under fedavg; the run goes on")
  func zeroWeightRound() throws {
    // 2 of 3 clients lie with 0 samples; they are scheduled and 2 are
    // selected each round: every round holds only liars.
    let text = federated(
      #""federation": {"clients": 3, "clients_per_round": 2}, "attack": {"name": "sign-flip", "clients": 2, "participation": "scheduled", "reported_samples": 0}, "defense": {"name": "fedavg"}"#,
      rounds: 6)
    let rows = try rounds(text)
    #expect(rows.count == 6)
    // The model never moves: every round's accuracy and loss are the first's.
    #expect(rows.allSatisfy { $0.accuracy == rows[0].accuracy && $0.loss == rows[0].loss })
    // With the honest client selected too (3 per round) the model moves.
    let moving = try rounds(
      text.replacingOccurrences(of: #""clients_per_round": 2"#, with: #""clients_per_round": 3"#))
    #expect(Set(moving.map(\.loss)).count > 1)
    // The same rounds with 1 or 2 threads.
    #expect(
      try rounds(text, threads: 2).map { [$0.accuracy, $0.loss] }
        == rows.map { [$0.accuracy, $0.loss] })
  }

  @Test(
    "a pipeline's monitor window or quarantine that no cycle can reach is refused, as a run's is")
  func pipelineHorizon() {
    let pipe =
      #"{"name": "p", "dataset": {"name": "sklearn-breast-cancer"}, "model": {"name": "logistic"}, "sources": [{"name": "h", "share": 0.4, "trust": "trusted"}, {"name": "a", "share": 0.3, "trust": "untrusted"}, {"name": "c", "share": 0.3, "trust": "untrusted"}], "pipeline": {"cycles": 3}, "attack": {"name": "label-flip", "sources": ["c"], "fraction": 0.4, "mapping": "reverse"}, "defense": {"name": "provenance", "validation_size": 50}, "safeguards": {"validation": {"size": 30}, "monitor": {"signals": ["validation_accuracy"], "window": WINDOW}, "quarantine": {"after": AFTER, "window": 5}, "response": {"name": "rollback"}}}"#
    func errors(window: Int, after: Int) -> [String] {
      scenarioErrors(
        pipe.replacingOccurrences(of: "WINDOW", with: "\(window)")
          .replacingOccurrences(of: "AFTER", with: "\(after)"))
    }
    // Cycles 0...3 are reviewed: a window of 3 alarms first in cycle 3; 4 flags fit in 4 reviews.
    #expect(errors(window: 3, after: 4) == [])
    #expect(
      errors(window: 4, after: 5) == [
        "safeguards.monitor.window: 4 leaves no cycle to watch: the first alarm can come in cycle 4, and pipeline.cycles is 3 (4 cycles with the initial training, cycle 0); lower the window or add cycles",
        "safeguards.quarantine.after: 5 flags need at least 5 cycles, and pipeline.cycles is 3 (4 cycles with the initial training, cycle 0); no source could ever be quarantined",
      ])
    // --set reaches the check.
    #expect(
      scenarioErrors(
        pipe.replacingOccurrences(of: "WINDOW", with: "4").replacingOccurrences(
          of: "AFTER", with: "3"), overrides: ["pipeline.cycles=4"]) == [])
  }

  @Test(
    "class_accuracy reads the model, so it runs under secure aggregation as validation_accuracy does"
  )
  func classAccuracyUnderSecureAggregation() {
    let text = federated(
      #""federation": {"clients": 6}, "channel": {"secure_aggregation": {"name": "pairwise-masking", "clip": 1}}, "defense": {"name": "fedavg"}, "safeguards": {"validation": {"size": 30}, "monitor": {"signals": ["class_accuracy", "validation_accuracy"], "window": 3}}"#,
      rounds: 6)
    #expect(scenarioErrors(text) == [])
    let perUpdate = text.replacingOccurrences(
      of: #"["class_accuracy", "validation_accuracy"]"#, with: #"["class_accuracy", "update_norm"]"#
    )
    #expect(
      scenarioErrors(perUpdate).first?.hasPrefix(
        "safeguards.monitor.signals: update_norm reads each client's update") == true)
  }

  @Test("sybils send even when tampering left no honest message in transit")
  func sybilsWithoutHonestMessages() throws {
    for tampered in [3, 4] {
      let text = federated(
        #""federation": {"clients": 4}, "channel": {"authentication": "ed25519"}, "attack": [{"name": "tamper", "messages": \#(tampered)}, {"name": "sybil", "identities": 3, "update": {"name": "sign-flip"}}], "defense": {"name": "fedavg"}"#,
        rounds: 1)
      let row = try #require(try rounds(text).first)
      #expect(row.channel?.messages == 7 && row.channel?.rejectedUnknown == 3, "\(tampered)")
      #expect(row.channel?.rejectedSignature == tampered)
    }
  }

  @Test("aggregate reproduces a round after a quarantine (validated against the round's clients)")
  func exportAfterQuarantine() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write(
      "s.json",
      text: federated(
        #""federation": {"clients": 7}, "attack": {"name": "sign-flip", "clients": 2, "scale": 5}, "defense": {"name": "multi-krum", "f": 2}, "safeguards": {"quarantine": {"after": 1, "window": 1}}"#,
        rounds: 3))
    try FileManager.default.createDirectory(
      atPath: dir.path + "/up", withIntermediateDirectories: false)
    let run = try CLI.run(["run", file, "--quiet", "--save-updates", dir.path + "/up"])
    #expect(run.status == 0, "\(run.stderr)")
    let sidecar = try #require(try UpdateExport.sidecar(of: dir.path + "/up/round-0002.npy"))
    #expect(sidecar.quarantined == 2 && sidecar.clients.count == 5)
    let out = dir.path + "/agg.npy"
    let aggregate = try CLI.run([
      "aggregate", dir.path + "/up/round-0002.npy", "--defense", #"{"name": "multi-krum", "f": 2}"#,
      "--output", out, "--format", "json",
    ])
    #expect(aggregate.status == 0, "\(aggregate.stderr)")
    let mine = try MatrixFile.read(out).values
    let simulator = try MatrixFile.read(dir.path + "/up/round-0002.aggregate.npy").values
    #expect(mine.map(\.bitPattern) == simulator.map(\.bitPattern))
  }
}
