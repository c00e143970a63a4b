import Foundation
import Testing

@testable import PoisonLab

@Suite("Audits", .serialized)
struct AuditTests {
  /// A tiny image set (4 classes, 3 x 3 x 1, values 0-255 raw), seed 2.
  func images(_ count: Int) -> Dataset {
    var rng = SplitMix64(seed: 2)
    let features = (0..<(count * 9)).map { _ in Float(rng.nextInt(below: 256)) }
    return Dataset(
      features: features, labels: (0..<count).map { Int32($0 % 4) },
      shape: Shape(height: 3, width: 3, channels: 1), classes: 4, isImage: true)
  }

  @Test("STRIP: a model with zero weights predicts uniformly: entropy log2(4) = 2 for every blend")
  func stripUniform() throws {
    let network = Network(layers: [Dense(inputs: 9, outputs: 4)])
    let data = images(12)
    let input = AuditInput(
      network: network, parameters: [Float](repeating: 0, count: network.parameterCount),
      test: data, probe: nil, normalizer: Normalizer(offset: [127.5], factor: [1 / 127.5]),
      training: TrainingSettings(rounds: 1, batchSize: 4, optimizer: SGD(learningRate: 0.1)),
      seeds: SeedTree(1), threads: 1)
    let strip = try #require(
      try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "strip", "n": 5, "clean_size": 10}}"#
      ).audit as? STRIP)
    let e = strip.entropies(of: data, pool: data, input: input, seed: "t")
    #expect(e.count == 12 && e.allSatisfy { abs($0 - 2) < 1e-9 })
    // Every entropy equals the threshold: nothing is below it, so nothing is rejected.
    let findings = try strip.audit(input)
    #expect(findings.threshold.map { abs($0 - 2) < 1e-9 } == true && findings.falseRejection == 0)
    #expect(findings.falseAcceptance == nil)
    var both = findings
    both.triggeredEntropies = [0.1, 0.2]
    let svg = STRIP.histogram(both, title: "t")
    #expect(svg.hasPrefix("<?xml") || svg.hasPrefix("<svg"))
    for name in ["clean inputs", "triggered inputs", "threshold (1% FRR)"] {
      #expect(svg.contains(name), "\(name)")
    }
  }

  @Test("STRIP's entropies do not depend on the worker threads (random weights, seed 4)")
  func stripThreads() throws {
    let network = Network(layers: [Dense(inputs: 9, outputs: 4)])
    var rng = SplitMix64(seed: 4)
    let parameters = network.initialParameters(using: &rng)
    let data = images(12)
    let strip = try #require(
      try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "strip", "n": 5, "clean_size": 10}}"#
      ).audit as? STRIP)
    func entropies(threads: Int) -> [Double] {
      let input = AuditInput(
        network: network, parameters: parameters, test: data, probe: nil,
        normalizer: Normalizer(offset: [127.5], factor: [1 / 127.5]),
        training: TrainingSettings(rounds: 1, batchSize: 4, optimizer: SGD(learningRate: 0.1)),
        seeds: SeedTree(1), threads: threads)
      return strip.entropies(of: data, pool: data, input: input, seed: "t")
    }
    let one = entropies(threads: 1)
    #expect(Set(one).count > 6, "entropies differ between inputs")
    #expect(entropies(threads: 2) == one && entropies(threads: 5) == one)
  }

  @Test("fine-pruning: max_drop 1 prunes all but one neuron, 0 keeps the defender's accuracy")
  func finePruningBounds() throws {
    let text =
      #"{"name": "fp", "seed": 4, "dataset": {"name": "synthetic", "classes": 3, "features": 8, "train_size": 600, "test_size": 300, "separation": 4}, "model": {"name": "mlp", "hidden": [16]}, "training": {"rounds": 3, "batch_size": 16}}"#
    func audit(_ block: String) throws -> AuditFindings {
      let out = try records(text, threads: 1, overrides: ["audit=\(block)"])
      return try #require(out.last?.totals?.audit)
    }
    let all = try audit(#"{"name": "fine-pruning", "max_drop": 1, "epochs": 0, "clean_size": 100}"#)
    #expect(all.pruned == 15)
    let none = try audit(
      #"{"name": "fine-pruning", "max_drop": 0, "epochs": 0, "clean_size": 100}"#)
    #expect((none.pruned ?? 0) < 15)
    #expect(none.accuracyBefore != nil && none.attackSuccessBefore == nil)
    // No pruning and no fine-tuning changes nothing.
    let zero = try audit(
      #"{"name": "fine-pruning", "max_drop": 0, "epochs": 0, "clean_size": 100}"#)
    if zero.pruned == 0 { #expect(zero.accuracyAfter == zero.accuracyBefore) }
  }

  @Test("the audit of a saved model equals the audit run after training")
  func savedModelAudit() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenarioFile = "scenarios/regression/backdoor-synthetic-cnn.json"
    let model = dir.path + "/m.safetensors"
    let block = #"{"name": "fine-pruning", "clean_size": 100, "epochs": 1}"#
    let run = try CLI.run([
      "run", scenarioFile, "--format", "jsonl", "--no-expect", "--save-model", model, "--set",
      "audit=\(block)",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try JSONParser.parse(String(run.stdout.split(separator: "\n").last ?? ""))
    let audit = try CLI.run([
      "audit", model, "--scenario", scenarioFile, "--method", block, "--format", "json",
    ])
    #expect(audit.status == 0, "\(audit.stderr)")
    let fields = try JSONParser.parse(audit.stdout)
    for key in [
      "audit_pruned", "audit_accuracy_before", "audit_accuracy_after", "audit_attack_success_after",
    ] {
      #expect(fields[key] != nil && fields[key] == summary[key], "\(key)")
    }
  }

  @Test(
    "audits that cannot work are refused: strip on tabular data, fine-pruning without a hidden layer"
  )
  func refusals() {
    let csv =
      #"{"name": "c", "dataset": {"name": "synthetic", "classes": 3, "features": 8}, "model": {"name": "mlp"}, "audit": {"name": "strip"}}"#
    #expect(scenarioErrors(csv).first?.hasPrefix("audit.name: strip blends images") == true)
    let flat =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "logistic"}, "audit": {"name": "fine-pruning"}}"#
    #expect(
      scenarioErrors(flat).first?.hasPrefix(
        "audit.name: fine-pruning prunes the last hidden dense layer")
        == true)
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "stirp"}}"#
      ).first?.contains(#"did you mean "strip"?"#) == true)
  }
}
