import Foundation
import Testing

@testable import PoisonLab

/// Each case the adversarial review of the safeguards and the audits found
/// (2026-12-02, session 19) stays fixed.
@Suite("Reliability: safeguards and audits")
struct SafeguardAuditReviewTests {
  /// A small federated scenario with `extra` top-level keys (seed 1, 6 clients).
  func federated(_ extra: String, rounds: Int = 8) -> String {
    #"{"name": "sg", "seed": 1, "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 600, "test_size": 200}, "model": {"name": "logistic"}, "training": {"rounds": \#(rounds), "local_epochs": 1, "batch_size": 32, "learning_rate": 0.1}, "federation": {"clients": 6, "partition": {"name": "iid"}}, \#(extra)}"#
  }

  /// The records of a run.
  func records(_ text: String) throws -> [MetricRecord] {
    var out: [MetricRecord] = []
    try Experiment(scenario: try scenario(text), threads: 1).run { out.append($0) }
    return out
  }

  @Test("an id that sent two messages in a round takes one strike, not two")
  func oneStrikePerRound() {
    var quarantine = Quarantine(
      settings: SafeguardSettings.Quarantine(after: 2, window: 5, minDistanceRatio: nil))
    quarantine.record(participants: [1, 3, 3, 4], flagged: [3])
    #expect(quarantine.clients.isEmpty)
    quarantine.record(participants: [3, 4], flagged: [3])
    #expect(quarantine.clients == [3])
  }

  @Test("a NaN update neither hides a later attack from update_norm nor enters its history")
  func nonFiniteNorms() throws {
    let text = federated(
      #""attack": [{"name": "nan", "client_ids": [0], "start_round": 5, "end_round": 5}, {"name": "scaling", "client_ids": [1], "factor": 10, "start_round": 8}], "defense": {"name": "median"}, "safeguards": {"monitor": {"signals": ["update_norm"], "window": 3}}"#,
      rounds: 10)
    let alarms = try records(text).filter { $0.kind == .alarm }.compactMap(\.alarm)
    // Before the fix the NaN in round 5 blinded the signal until round 9.
    let first = try #require(alarms.first)
    #expect(first.round == 8 && first.signal == "update_norm_max" && first.suspected == [1])
    #expect(alarms.allSatisfy { $0.value.isFinite && $0.score.isFinite })
  }

  @Test("recovery_rounds does not count a round the gate had already rejected")
  func recoveryAfterGate() throws {
    let text = federated(
      #""attack": {"name": "scaling", "clients": 1, "factor": -10, "start_round": 6}, "safeguards": {"validation": {"size": 60, "max_drop": 0.02, "attribute": true}, "monitor": {"signals": ["update_norm", "cosine", "validation_accuracy"], "window": 3}, "quarantine": {"after": 1, "window": 2}, "response": {"name": "rollback"}}"#
    )
    let out = try records(text)
    let rows = out.filter { $0.kind == .round }
    // Round 4 alarms (cosine) and is rolled back: 1 round. Round 6 alarms
    // too, but the gate had rejected it: nothing more was discarded.
    #expect(rows.first { $0.round == 6 }?.safeguards?.gate == "rejected")
    let totals = try #require(out.last?.totals?.safeguards)
    #expect(totals.rollbacks == 2 && totals.recoveryRounds == 1)
  }

  @Test(
    "settings that would be ignored are refused: fldetector's threshold, a quarantine nothing feeds"
  )
  func ignoredSettings() {
    let fld = federated(
      #""attack": {"name": "fang", "clients": 1, "start_round": 4}, "safeguards": {"monitor": {"signals": ["fldetector"], "window": 3, "threshold": 100}}"#
    )
    #expect(
      scenarioErrors(fld).first?.hasPrefix(
        "safeguards.monitor.threshold: applies to the z-scored signals") == true)
    // Without the key, or beside a z-scored signal, it is fine.
    #expect(scenarioErrors(fld.replacingOccurrences(of: #", "threshold": 100"#, with: "")) == [])
    #expect(
      scenarioErrors(
        fld.replacingOccurrences(of: #"["fldetector"]"#, with: #"["fldetector", "update_norm"]"#))
        == [])
    let quarantine = federated(
      #""defense": {"name": "fedavg"}, "safeguards": {"quarantine": {"after": 1, "window": 1}}"#)
    #expect(
      scenarioErrors(quarantine).first?.hasPrefix(
        "safeguards.quarantine: counts flags, and nothing here flags a client") == true)
    #expect(
      scenarioErrors(
        quarantine.replacingOccurrences(of: #""fedavg""#, with: #""median""#)) == [])
  }

  @Test(
    "an audit needs 10 clean test samples for the defender and one more (exit 2, not a verdict from none)"
  )
  func auditCleanSamples() throws {
    let text =
      #"{"name": "a", "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 200, "test_size": 10}, "model": {"name": "mlp", "hidden": [8]}, "training": {"rounds": 1}, "audit": {"name": "fine-pruning"}}"#
    let experiment = Experiment(scenario: try scenario(text), threads: 1)
    #expect(throws: RunFailure.self) { try experiment.preflight(budget: nil) }
    #expect(experiment.cleanSizeProblem(test: 19)?.message.contains("at least 10 clean") == true)
    #expect(experiment.cleanSizeProblem(test: 20) == nil)
  }

  @Test("an audit judges by the backdoor's probe, even after a label flip")
  func auditProbe() throws {
    let text =
      #"{"name": "a", "dataset": {"name": "synthetic", "classes": 3, "shape": [8, 8, 1], "train_size": 300, "test_size": 60}, "model": {"name": "mlp", "hidden": [8]}, "training": {"rounds": 1}, "federation": {"clients": 5}, "attack": [{"name": "label-flip", "source": 1, "target": 2, "client_ids": [0]}, {"name": "backdoor", "target": 0, "trigger": {"size": 2}, "client_ids": [1, 2]}], "audit": {"name": "fine-pruning"}}"#
    let experiment = Experiment(scenario: try scenario(text), threads: 1)
    let (_, test) = try experiment.loadData()
    let probe = experiment.auditProbe(
      rawTest: test, normalizer: Normalizer(offset: [0], factor: [1]))
    #expect(probe?.target == 0 && probe?.reportsRobustAccuracy == true)
    // The run's attack_success stays the first targeted attack's (the flip,
    // target 2); the audit's findings are the backdoor's.
    var summary: MetricRecord?
    try Experiment(scenario: try scenario(text), threads: 1).run { summary = $0 }
    let findings = try #require(summary?.totals?.audit)
    #expect(findings.attackSuccessBefore != nil)
  }

  @Test("f less the excluded clients saturates at 0, whatever counts a round file holds")
  func effectiveFSaturates() {
    var context = DefenseContext(round: 1, threads: 1, rejectedNonFinite: 1)
    context.rejectedByChannel = Int.max
    context.quarantined = Int.max
    #expect(context.effectiveF(3) == 0)
    context.rejectedByChannel = 1
    context.quarantined = 0
    #expect(context.effectiveF(3) == 1)
  }

  @Test(
    "a quarantine fed only by model signals (they suspect nobody) is refused with a fedavg chain")
  func quarantineModelSignals() {
    let text = federated(
      #""defense": {"name": "fedavg"}, "safeguards": {"quarantine": {"after": 1}, "validation": {"size": 20}, "monitor": {"signals": ["validation_accuracy"], "window": 3}}"#
    )
    #expect(
      scenarioErrors(text).first?.hasPrefix(
        "safeguards.quarantine: counts flags, and nothing here flags a client") == true)
    #expect(
      scenarioErrors(
        text.replacingOccurrences(
          of: #"["validation_accuracy"]"#, with: #"["validation_accuracy", "update_norm"]"#))
        == [])
  }

  /// A breast-cancer pipeline with `extra` keys.
  func pipeline(_ extra: String) -> String {
    #"{"name": "p", "seed": 0, "dataset": {"name": "sklearn-breast-cancer"}, "model": {"name": "logistic"}, "training": {"batch_size": 16, "learning_rate": 0.05}, \#(extra)}"#
  }

  @Test(
    "new_data_loss alone alarms from cycle window + 1 at the earliest: a window that cannot is refused"
  )
  func newDataLossHorizon() {
    let sources =
      #""sources": [{"name": "h", "share": 0.4, "trust": "trusted"}, {"name": "a", "share": 0.6}], "pipeline": {"cycles": 4}"#
    let text = { (window: Int) in
      pipeline(
        sources
          + #", "safeguards": {"monitor": {"signals": ["new_data_loss"], "window": \#(window)}}"#)
    }
    #expect(scenarioErrors(text(3)) == [])
    #expect(
      scenarioErrors(text(4)).first?.hasPrefix(
        "safeguards.monitor.window: 4 leaves no cycle to watch: the first alarm can come in cycle 5"
      )
        == true)
  }

  @Test("the held-out sets are checked against the split's own trusted count (largest remainder)")
  func heldOutCount() throws {
    // 455 training samples: h gets 137 (0.3 x 455 = 136.5, rounded up by
    // the largest remainder), so 68 held out is less than half, 69 is not.
    let text = { (size: Int) in
      self.pipeline(
        #""sources": [{"name": "h", "share": 0.3, "trust": "trusted"}, {"name": "a", "share": 0.7}], "pipeline": {"cycles": 2}, "defense": {"name": "provenance", "validation_size": \#(size)}"#
      )
    }
    try Experiment(scenario: try scenario(text(68)), threads: 1).preflight(budget: nil)
    do {
      try Experiment(scenario: try scenario(text(69)), threads: 1).preflight(budget: nil)
      Issue.record("69 of 137 trusted samples was not refused")
    } catch {
      #expect("\(error)".contains("of the trusted sources' 137 samples"), "\(error)")
    }
  }

  @Test("dba takes no centralized keys (fraction, sources): it is federated only")
  func dbaKeys() {
    let keys = Registry.descriptors(.attacks).first { $0.name == "dba" }?.parameters.map(\.key)
    #expect(keys?.contains("sources") == false && keys?.contains("fraction") == false)
  }
}
