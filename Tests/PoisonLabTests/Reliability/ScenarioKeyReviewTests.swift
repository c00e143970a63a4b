import Foundation
import Testing

@testable import PoisonLab

/// Each case the adversarial review of the newest scenario keys found
/// (2026-12-02, session 18) stays fixed.
@Suite("Reliability: the newest scenario keys", .serialized)
struct ScenarioKeyReviewTests {
  let smoke = CLI.root.path + "/scenarios/regression/smoke-federated.json"
  var text: String { (try? String(contentsOfFile: smoke, encoding: .utf8)) ?? "" }

  @Test("the table prints a finite 1e20-scale value instead of trapping (exit 0)")
  func hugeValuesInTable() throws {
    let r = try CLI.run([
      "run", smoke, "--no-expect", "--format", "table", "--set",
      #"attack={"name": "scaling", "clients": 1, "factor": 1e20, "start_round": 5, "participation": "scheduled"}"#,
      "--set", #"defense={"name": "median"}"#, "--set",
      #"safeguards={"monitor": {"signals": ["update_norm"], "window": 3}}"#, "--set",
      "training.rounds=6",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("alarm in round 5") && r.stdout.contains("e+"), "\(r.stdout)")
  }

  @Test("the gate never accepts a model with a NaN weight; the run goes on (seed 4)")
  func gateRejectsNaN() throws {
    let rows = try records(
      text, threads: 2,
      overrides: [
        "seed=4", "expect=null", "training.rounds=4", #"defense={"name": "fedavg"}"#,
        #"attack={"name": "nan", "clients": 2, "start_round": 2}"#,
        #"safeguards={"validation": {"size": 200, "max_drop": 0}}"#,
      ])
    let gates = rows.filter { $0.kind == .round }.map { $0.safeguards?.gate }
    #expect(gates.dropFirst().allSatisfy { $0 == "rejected" }, "\(gates)")
    #expect(rows.last?.accuracy.isFinite == true)
  }

  @Test(
    "secure aggregation: a round whose clients all report 0 samples fails (skipped), not exit 3")
  func zeroWeightsFailTheRound() throws {
    let file = CLI.root.path + "/scenarios/regression/channel-secure-aggregation.json"
    let r = try CLI.run([
      "run", file, "--no-expect", "--format", "jsonl", "--set",
      #"attack={"name": "scaling", "clients": 10, "reported_samples": 0, "factor": 1}"#, "--set",
      "training.rounds=2",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains(#""secure_aggregation_failed_rounds": 2"#), "\(r.stdout)")
  }

  @Test("finite weights whose outputs overflow stop the run as diverged (exit 3)")
  func overflowingOutputsDiverge() throws {
    let file = CLI.root.path + "/scenarios/regression/channel-secure-aggregation.json"
    let r = try CLI.run([
      "run", file, "--no-expect", "--format", "jsonl", "--set",
      "channel.secure_aggregation.clip=3e38", "--set",
      #"attack={"name": "scaling", "clients": 2, "factor": 3e38}"#, "--set", "training.rounds=2",
    ])
    #expect(r.status == 3 && r.stderr.contains("test loss became NaN or infinite"), "\(r.stderr)")
  }

  @Test("settings that can never act and audits that cannot fit: exit 2")
  func refusedBeforeWork() throws {
    #expect(
      scenarioErrors(text, overrides: [#"safeguards={"monitor": {"window": 4}}"#]).contains {
        $0.hasPrefix("safeguards.monitor.window: 4 leaves no round to watch")
      })
    #expect(
      scenarioErrors(
        text,
        overrides: [
          #"safeguards={"monitor": {"window": 3}, "quarantine": {"after": 5, "window": 5}}"#
        ]
      ).contains { $0.hasPrefix("safeguards.quarantine.after: 5 flags need at least 5 rounds") })
    // An expectation on a metric the run will not measure is an ablation's: accepted.
    #expect(scenarioErrors(text, overrides: [#"expect={"rollbacks": {"max": 0}}"#]).isEmpty)
    let cnn = CLI.root.path + "/scenarios/regression/backdoor-synthetic-cnn.json"
    let cnnText = try String(contentsOfFile: cnn, encoding: .utf8)
    #expect(
      scenarioErrors(
        cnnText,
        overrides: [
          "model.dense=[]", #"audit={"name": "fine-pruning", "clean_size": 10, "layer": "dense"}"#,
        ]
      ).first?.hasPrefix(#"audit.layer: "dense" prunes the last hidden dense layer"#) == true)
    // A given clean_size larger than the test set is refused before training.
    let big = try CLI.run([
      "run", cnn, "--no-expect", "--format", "jsonl", "--set",
      #"audit={"name": "strip", "clean_size": 100000}"#,
    ])
    #expect(
      big.status == 2 && big.stderr.contains("audit.clean_size: asks for 100000"), "\(big.stderr)")
  }

  @Test(
    "third review: window rule for mixed signals, clean_size checked by validate, CSV NaN words")
  func thirdReview() throws {
    // update_norm can alarm from round window + 1 even beside fldetector.
    #expect(
      scenarioErrors(
        text,
        overrides: [
          "training.rounds=6",
          #"safeguards={"monitor": {"signals": ["update_norm", "fldetector"], "window": 5}}"#,
        ]
      ).isEmpty)
    let cnn = CLI.root.path + "/scenarios/regression/backdoor-synthetic-cnn.json"
    let r = try CLI.run(["validate", cnn, "--set", #"audit={"name": "strip", "clean_size": 300}"#])
    #expect(r.status == 2 && r.stderr.contains("audit.clean_size"), "\(r.stderr)")
    #expect(CSVReader.parse("snan") == .notANumber)
    #expect(CSVReader.parse("nan(5)") == .notANumber)
    #expect(CSVReader.parse("-NaN").isNaNValue)
  }

  @Test("STRIP's blends are in the memory estimate: n 10000 on 128x128x3 inputs is refused")
  func stripMemory() throws {
    let scenario =
      #"{"name": "s", "dataset": {"name": "synthetic", "classes": 3, "shape": [128, 128, 3], "train_size": 40, "test_size": 20}, "model": {"name": "mlp", "hidden": [4]}, "training": {"rounds": 1}, "attack": {"name": "backdoor", "fraction": 0.1, "target": 0}, "audit": {"name": "strip", "n": 10000, "clean_size": 10, "inputs": 1}}"#
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("s.json", text: scenario)
    let r = try CLI.run(["validate", file, "--max-memory", "600M", "--threads", "1"])
    // 10000 blends of 128 x 128 x 3 floats and 3 logits: 1.8 GiB, with the
    // defender's 10 samples and the model 2.0 GiB, named as the audit's part
    // (7.5 GiB before the estimate counted features, not parameters, per sample).
    #expect(r.status == 2, "\(r.stderr)")
    #expect(r.stderr.contains("(audit 2.0 GiB,"), "\(r.stderr)")
    #expect(r.stderr.contains("more than 600.0 MiB allowed by --max-memory 600M"), "\(r.stderr)")
    // The defender's samples count features, not parameters: the CNN's
    // fine-pruning audit needs about 150 MiB, not 12 GiB.
    let cnn = dir.write(
      "c.json",
      text:
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "cnn"}, "attack": {"name": "backdoor", "fraction": 0.011, "target": 0}, "audit": {"name": "fine-pruning"}}"#
    )
    let small = try CLI.run(["validate", cnn, "--max-memory", "1M", "--threads", "2"])
    #expect(
      small.stderr.range(of: #"audit 1[0-9]{2}\.[0-9] MiB"#, options: .regularExpression) != nil,
      "\(small.stderr)")
    let roomy = try CLI.run(["validate", file, "--max-memory", "3G", "--threads", "1"])
    #expect(roomy.status == 0, "\(roomy.stderr)")
  }

  @Test("csv: a label_column the header lacks is a scenario error with a did-you-mean (exit 2)")
  func labelColumnTypo() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    var rows = "a,b,label\n"
    for i in 0..<40 { rows += "\(i),\(i * 2),\(i % 2)\n" }
    let data = dir.write("d.csv", text: rows)
    let scenario = dir.write(
      "s.json",
      text:
        #"{"name": "c", "dataset": {"name": "csv", "train": "\#(data)", "label_column": "lable"}, "model": {"name": "logistic"}, "training": {"rounds": 1}}"#
    )
    let r = try CLI.run(["run", scenario, "--format", "jsonl"])
    #expect(r.status == 2, "\(r.stderr)")
    #expect(
      r.stderr.contains(#"dataset.label_column: "#) && r.stderr.contains(#"did you mean "label"?"#))
    // validate finds it too, from the file's first line, as do an index
    // beyond the columns and a name for a file without a header.
    let bare = dir.write("bare.csv", text: "1,2,0\n3,4,1\n")
    func validate(_ file: String, _ column: String) throws -> CLI.Result {
      let s = dir.write(
        "v.json",
        text:
          #"{"name": "c", "dataset": {"name": "csv", "train": "\#(file)", "label_column": \#(column)}, "model": {"name": "logistic"}}"#
      )
      return try CLI.run(["validate", s])
    }
    for (file, column, phrase) in [
      (data, #""lable""#, #"did you mean "label"?"#),
      (data, "3", "3 is out of range: "), (data, "-4", "-4 is out of range: "),
      (bare, #""label""#, "has no header row"),
    ] {
      let v = try validate(file, column)
      #expect(v.status == 2, "\(column): \(v.stderr)")
      #expect(
        v.stderr.contains("dataset.label_column: ") && v.stderr.contains(phrase),
        "\(column): \(v.stderr)")
    }
    // Valid ones pass: a name, a negative index, and scikit-learn's counts line skipped.
    let sklearn = dir.write("sk.csv", text: "4,2,a,b\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    for (file, column) in [(data, #""label""#), (data, "-3"), (sklearn, "0")] {
      let v = try validate(file, column)
      #expect(v.status == 0, "\(column): \(v.stderr)")
    }
  }

  @Test("a gzipped csv is estimated from the size its trailer records, not its compressed size")
  func gzipEstimate() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let line = (0..<50).map { _ in "1.5" }.joined(separator: ",") + ",0\n"
    var text = "h" + (1...50).map { ",f\($0)" }.joined() + "\n"
    text +=
      String(repeating: line, count: 60_000)
      + String(repeating: line.replacingOccurrences(of: ",0\n", with: ",1\n"), count: 60_000)
    _ = dir.write("big.csv", text: text)
    _ = try CLI.shell("gzip big.csv", in: dir.path)
    let scenario = dir.write(
      "s.json",
      text:
        #"{"name": "c", "dataset": {"name": "csv", "train": "big.csv.gz"}, "model": {"name": "logistic"}, "training": {"rounds": 1}}"#
    )
    #expect(CSVData.gzipSize(dir.path + "/big.csv.gz") == text.utf8.count)
    let r = try CLI.run(["validate", scenario, "--max-memory", "20M"])
    #expect(r.status == 2 && r.stderr.contains("needs an estimated"), "\(r.stderr)")
  }

  @Test("an error elsewhere in a pipeline scenario does not also blame its source filter")
  func noCascade() throws {
    let pipeline = try String(
      contentsOfFile: CLI.root.path + "/scenarios/regression/pipeline-provenance.json",
      encoding: .utf8)
    #expect(scenarioErrors(pipeline, overrides: ["seed=-1"]).count == 1)
    #expect(scenarioErrors(pipeline, overrides: ["descriptio=x"]).count == 1)
  }
}

extension CSVReader.Number {
  /// Whether this is a NaN value (NaN is not equal to itself).
  var isNaNValue: Bool { if case .value(let x) = self { x.isNaN } else { false } }
}
