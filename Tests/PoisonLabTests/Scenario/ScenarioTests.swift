import Foundation
import PoisonLab
import Testing

let minimal = #"{"name": "m", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}}"#

@Suite("Scenario errors (messages pinned)")
struct ScenarioErrorTests {
  @Test("unknown key with a suggestion and the allowed keys")
  func unknownKey() {
    #expect(
      scenarioErrors(
        #"{"name": "m", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "trainig": {}}"#
      ) == [
        #"trainig: unknown key; did you mean "training"? (allowed: name, description, seed, dataset, model, training, federation, channel, safeguards, sources, pipeline, audit, attack, defense, evaluation, sweep, expect)"#
      ])
    #expect(
      scenarioErrors(minimal, overrides: ["model.hiden=[3]"]) == [
        #"model.hiden: unknown key for model "mlp"; did you mean "hidden"? (allowed: name, hidden, activation)"#
      ])
  }

  @Test("unknown plug-in names suggest the near miss")
  func unknownName() {
    #expect(
      scenarioErrors(minimal, overrides: ["attack.name=labelflip"]) == [
        #"attack.name: unknown attack "labelflip"; did you mean "label-flip"? (known: label-flip, backdoor, dba, sign-flip, gaussian, scaling, alie, ipm, min-max, min-sum, fang, mimic, nan, tamper, replay, impersonate, sybil)"#
      ])
    #expect(
      scenarioErrors(minimal, overrides: ["dataset.name=fashion_mnist"]) == [
        #"dataset.name: unknown dataset "fashion_mnist"; did you mean "fashion-mnist"? (known: fashion-mnist, mnist, cifar10, csv, sklearn-breast-cancer, sklearn-wine, sklearn-iris, sklearn-digits, synthetic)"#
      ])
  }

  @Test("wrong type and out of range name the path and the bad value")
  func typeAndRange() {
    #expect(
      scenarioErrors(
        minimal, overrides: [#"training.learning_rate="fast""#, "training.rounds=0", "seed=-1"])
        == [
          "seed: must be integer in 0...9007199254740991, got -1",
          "training.rounds: must be integer in 1...1000000, got 0",
          #"training.learning_rate: expected number > 0, got a string "fast""#,
        ])
    #expect(
      scenarioErrors(
        minimal,
        overrides: ["attack.name=backdoor", "attack.fraction=1.5", "attack.trigger.size=2.5"]) == [
          "attack.fraction: must be number in (0, 1], got 1.5",
          "attack.trigger.size: expected integer in 1...4096, got 2.5",
        ])
  }

  @Test("incompatible combinations")
  func combinations() {
    let csv =
      #"{"name": "m", "dataset": {"name": "csv", "train": "x.csv"}, "model": {"name": "cnn"}, "attack": {"name": "backdoor"}}"#
    #expect(
      scenarioErrors(csv) == [
        #"model.name: "cnn" needs image data, but the dataset is tabular (use "mlp" or "logistic")"#,
        #"attack.name: "backdoor" stamps an image trigger, but the dataset is tabular (use "label-flip")"#,
      ])
    #expect(
      scenarioErrors(minimal, overrides: ["training.local_epochs=2"]) == [
        "training.local_epochs: applies to federated runs only (this scenario has no federation block)"
      ])
    #expect(
      scenarioErrors(minimal, overrides: ["defense.name=median"]) == [
        #"defense.name: "median" acts on client updates and needs a federation block (centralized runs take a sanitizer: spectral-signatures, activation-clustering; pipelines a source filter: provenance, roni, trusted-only)"#
      ])
    #expect(
      scenarioErrors(
        minimal, overrides: ["attack.name=label-flip", "attack.mapping=random", "attack.clients=2"])
        == [
          "attack.clients: applies to federated runs only (this scenario has no federation block)"
        ])
    #expect(
      scenarioErrors(minimal, overrides: ["attack.name=label-flip", "attack.source=1"]) == [
        "attack.target: missing: a targeted flip needs both source and target (or set mapping: reverse or random)"
      ])
    #expect(
      scenarioErrors(
        minimal, overrides: ["attack.name=label-flip", "attack.source=1", "attack.target=7"]) == [
          "attack.target: must be a class id in 0...2, got 7"
        ])
    #expect(
      scenarioErrors(
        #"{"name": "m", "dataset": {"name": "fashion-mnist"}, "model": {"name": "cnn", "channels": [2, 2, 2, 2, 2]}}"#
      ) == [
        "model.channels: 5 pooling blocks do not fit 28x28 images (each halves the size)"
      ])
    for kernel in ["4", "0", "17", "3.5"] {
      #expect(
        scenarioErrors(
          #"{"name": "m", "dataset": {"name": "fashion-mnist"}, "model": {"name": "cnn"}}"#,
          overrides: ["model.kernel=\(kernel)"]) == [
            "model.kernel: must be odd integer in 1...15, got \(kernel)"
          ])
    }
    #expect(
      scenarioErrors(
        #"{"name": "m", "dataset": {"name": "fashion-mnist"}, "model": {"name": "cnn", "kernel": 3}}"#
      ).isEmpty)
    #expect(
      scenarioErrors(
        #"{"name": "m", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "attack": {"name": "backdoor", "trigger": {"size": 29}}}"#
      ) == [
        "attack.trigger: a 29x29 trigger does not fit 28x28 images"
      ])
    #expect(
      scenarioErrors(minimal, overrides: ["attack[0].name=backdoor"]) == [
        "--set attack[0].name=backdoor: cannot index [0] into an object"
      ])
  }

  @Test("every problem of a file is reported at once, and expect is checked")
  func allAtOnce() {
    let text =
      #"{"seeed": 1, "dataset": {"name": "minst"}, "model": {"name": "mlp", "hidden": [0]}, "expect": {"acuracy": {"min": 0.5}, "loss": {}}}"#
    #expect(
      scenarioErrors(text) == [
        #"seeed: unknown key; did you mean "seed"? (allowed: name, description, seed, dataset, model, training, federation, channel, safeguards, sources, pipeline, audit, attack, defense, evaluation, sweep, expect)"#,
        "name: missing required key (string: identifier printed in every output row, kebab-case (e.g. w1-median))",
        #"dataset.name: unknown dataset "minst"; did you mean "mnist"? (known: fashion-mnist, mnist, cifar10, csv, sklearn-breast-cancer, sklearn-wine, sklearn-iris, sklearn-digits, synthetic)"#,
        "model.hidden[0]: must be integer in 1...65536, got 0",
        #"expect.acuracy: unknown metric; did you mean "accuracy"? (metrics: accuracy, loss, attack_success, robust_accuracy, malicious, flagged, downweighted, detection_precision, detection_recall, epsilon, messages, rejected_signature, rejected_stale, rejected_unknown, rejected_duplicate, honest_dropped, quarantined, false_quarantined, first_alarm_round, time_to_detect, false_alarms, rollbacks, recovery_rounds, gate_rejected_rounds, secure_aggregation_failed_rounds, audit_false_rejection, audit_false_acceptance, audit_accuracy_after, audit_attack_success_after, audit_pruned, audit_anomaly_index, source_detection_precision, source_detection_recall, delivery_detection_precision, delivery_detection_recall)"#,
        "expect.loss: give min and/or max",
      ])
  }

  @Test("JSON syntax errors give line and column")
  func syntax() {
    #expect(
      scenarioErrors("{\n  \"name\": \"x\",\n  \"seed\": 01\n}") == [
        "(top level): not valid JSON: line 3, column 11: numbers may not have leading zeros"
      ])
    #expect(
      scenarioErrors("{\"a\": 1,}") == [
        "(top level): not valid JSON: line 1, column 9: trailing comma before '}'"
      ])
    #expect(
      scenarioErrors("{\"a\": 1, \"a\": 2}") == [
        #"(top level): not valid JSON: line 1, column 10: duplicate key "a""#
      ])
    #expect(
      scenarioErrors("[1, 2") == [
        "(top level): not valid JSON: line 1, column 6: unterminated array: expected ',' or ']'"
      ])
  }

  @Test("--set: bad syntax and impossible paths are errors naming the assignment")
  func overrides() {
    #expect(
      scenarioErrors(minimal, overrides: ["training.rounds"]) == [
        "--set training.rounds: expected PATH=VALUE, for example training.learning_rate=0.1"
      ])
    #expect(scenarioErrors(minimal, overrides: ["a..b=1"]).first?.contains("bad path") == true)
    #expect(
      scenarioErrors(minimal, overrides: ["name.x=1"]) == [
        #"--set name.x=1: cannot set key "x" inside a string"#
      ])
  }
}

@Suite("Scenario resolution")
struct ScenarioResolutionTests {
  @Test("defaults are filled in and printed in canonical order")
  func resolved() throws {
    let s = try scenario(minimal, overrides: ["attack.name=label-flip", "attack.mapping=reverse"])
    #expect(
      s.resolved.serialized()
        == #"{"name": "m", "description": "", "seed": 0, "dataset": {"name": "synthetic", "classes": 3, "train_size": 1000, "test_size": 500, "separation": 3, "normalize": "standard"}, "model": {"name": "mlp", "hidden": [200, 200], "activation": "relu"}, "training": {"rounds": 10, "batch_size": 32, "learning_rate": 0.05, "momentum": 0, "weight_decay": 0}, "attack": {"name": "label-flip", "fraction": 0.1, "mapping": "reverse"}, "evaluation": {"every": 1}}"#
    )
    #expect(s.training.optimizer == SGD(learningRate: 0.05))
  }

  @Test("--set takes JSON values; a bare word is a string; --seed replaces the seed")
  func overrideValues() throws {
    let s = try ScenarioLoader.decode(
      minimal, source: "t",
      overrides: ["model.hidden=[7, 5]", "training.learning_rate=0.1", "name=renamed"], seed: 9)
    #expect(s.name == "renamed")
    #expect(s.seed == 9)
    #expect(s.resolved["model"]?["hidden"] == .array([.number(7), .number(5)]))
    #expect(s.training.optimizer.learningRate == 0.1)
  }

  @Test("JSON round trip keeps order and escapes")
  func jsonRoundTrip() throws {
    let text = #"{"b": [1, 2.5, -3e-2], "a": {"s": "tab\tquote\"é\u00e9"}, "n": null, "t": true}"#
    let value = try JSONParser.parse(text)
    #expect(try JSONParser.parse(value.serialized()) == value)
    #expect(try JSONParser.parse(value.serialized(indent: 2)) == value)
    #expect(value.serialized().hasPrefix(#"{"b": [1, 2.5, -0.03], "a""#))
  }

  @Test("every file in scenarios/ validates, and every *.invalid.json is refused naming why")
  func exampleScenarios() throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scenarios")
    let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter {
      $0.hasSuffix(".json")
    }.sorted()
    #expect(files.count >= 12)
    for file in files {
      let path = directory.appendingPathComponent(file).path
      if file.hasSuffix(".invalid.json") {
        // A documented refusal: the description says what the message names.
        #expect(throws: ScenarioErrors.self, "\(file)") { _ = try ScenarioLoader.load(file: path) }
        continue
      }
      do {
        _ = try ScenarioLoader.load(file: path)
      } catch {
        Issue.record("\(file): \(error)")
      }
    }
  }
}
